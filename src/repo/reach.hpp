// Reachability: every commit named by a ref (branches, tags, HEAD), every
// file of their trees, and the objects those files need (manifest, chunks,
// rows, images). fsck verifies them; gc keeps them.
#pragma once

#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

#include "repo/repo_impl.hpp"

namespace kura {

struct GitOidHash {
  size_t operator()(const git_oid& o) const noexcept {
    size_t h;
    __builtin_memcpy(&h, o.id, sizeof h);
    return h;
  }
};
struct GitOidEq {
  bool operator()(const git_oid& a, const git_oid& b) const noexcept { return git_oid_equal(&a, &b); }
};
using GitOidSet = std::unordered_set<git_oid, GitOidHash, GitOidEq>;

// What training runs keep alive (table `runs`, records "run/<id>", written by
// src/train): their output and base-model objects, and their commits.
struct RunRoots {
  std::vector<ObjectId> objects;
  std::vector<std::string> commits;  // hex
};
RunRoots run_roots(const Store& store);

// The commits reachable from every ref, HEAD and training run, newest first; tag objects
// met on the way go to `tags`.
// `run_commits`: the commits of training runs; null: read from the runs table.
std::vector<git_oid> reachable_commits(const Repo::Impl& repo, GitOidSet* tags,
                                       const std::vector<std::string>* run_commits = nullptr);

// The kura objects a file needs, in the order a reader meets them. A missing
// or undecodable object stops the descent below it and is reported to
// `problem` (object, kind, message, row number or 0).
void file_objects(const Store& store, const FileEntry& file, const std::function<bool(const ObjectId&, uint64_t line)>& visit,
                  const std::function<void(const ObjectId&, const char* kind, const std::string& message,
                                           uint64_t line)>& problem);

}  // namespace kura
