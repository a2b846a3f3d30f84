// The libgit2 adapter: RAII owners for libgit2 handles and the one place
// where libgit2 error codes become kura::Error.
#pragma once

#include <git2.h>

#include <memory>
#include <string>
#include <string_view>

namespace kura::git {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, Deleter<T, Free>>;

using Repository = Owned<git_repository, git_repository_free>;
using Odb = Owned<git_odb, git_odb_free>;
using OdbObject = Owned<git_odb_object, git_odb_object_free>;
using Object = Owned<git_object, git_object_free>;
using Commit = Owned<git_commit, git_commit_free>;
using Tree = Owned<git_tree, git_tree_free>;
using TreeEntry = Owned<git_tree_entry, git_tree_entry_free>;
using TreeBuilder = Owned<git_treebuilder, git_treebuilder_free>;
using Reference = Owned<git_reference, git_reference_free>;
using Signature = Owned<git_signature, git_signature_free>;
using Revwalk = Owned<git_revwalk, git_revwalk_free>;
using BranchIterator = Owned<git_branch_iterator, git_branch_iterator_free>;
using Config = Owned<git_config, git_config_free>;
using Tag = Owned<git_tag, git_tag_free>;

// Initialises libgit2 once per process (thread-safe) with kura's settings.
void init();

// Throws kura::Error when rc < 0: `what` plus libgit2's own message.
void check(int rc, const std::string& what);

std::string hex(const git_oid& oid);
git_oid oid_from_hex(std::string_view hex);  // caller guarantees 40 hex chars
std::string_view raw(const git_oid& oid);

// The git object id of `data` as a blob ("blob <n>\0<data>").
git_oid hash_blob(std::string_view data);

}  // namespace kura::git
