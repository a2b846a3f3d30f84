// Git's object encoding, for code that moves git objects between
// repositories without a repository at hand (kura's remotes).
//
// kura keeps libgit2 in one layer, repo: a remote reads the ids a commit or a
// tree names, packs objects by their 20-byte ids and checks what it receives
// through these functions, never by parsing git's formats itself. Every
// function is pure (no repository, no I/O) and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kura/object_id.hpp"

namespace kura {

struct GitObject;  // kura/repo.hpp

// GitObject::type values: git's own type numbers.
constexpr int kGitCommit = 1, kGitTree = 2, kGitBlob = 3, kGitTag = 4;

// The objects a commit or an annotated tag names in its header: its tree,
// its parents, a tag's target ("object") and the check report kura records
// ("kura-checks"). Lines of the message are never read.
struct GitCommitLinks {
  std::vector<std::string> trees;    // hex
  std::vector<std::string> parents;  // hex
  std::vector<std::string> objects;  // hex: a tag's target
  std::vector<ObjectId> reports;     // kura-checks report ids
};
GitCommitLinks git_commit_links(const GitObject& object);

// One entry of a git tree.
struct GitTreeEntry {
  enum class Kind { kTree, kBlob, kLink, kSubmodule };
  Kind kind = Kind::kBlob;
  std::string name;
  std::string id;  // hex
};
// The entries of a tree object, in its order; Error(kCorrupt) naming the tree
// when its bytes are not a tree.
std::vector<GitTreeEntry> git_tree_entries(const GitObject& tree);

// The 20 raw bytes of a hex git id; Error(kInvalidInput) when it is not one.
std::string git_id_raw(std::string_view hex);
// The hex form of 20 raw id bytes.
std::string git_id_hex(std::string_view raw);
// Whether the object's id is git's hash of its type and data.
bool git_object_matches(const GitObject& object);

}  // namespace kura
