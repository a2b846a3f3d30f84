// Shared by push and fetch: opening a remote by name, running many
// transfers on the remote's connections with a progress callback, and the
// remote-tracking ref names.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "kura/remote.hpp"
#include "remote/backend.hpp"

namespace kura::remote {

// Runs fn(i) for i in [0, n) on `threads` workers, reporting progress as
// phase, objects done of n and bytes (fn adds to `bytes`).
void transfer_all(size_t n, unsigned threads, const char* phase, const ProgressFn& progress,
                  std::atomic<uint64_t>& bytes, uint64_t bytes_total,
                  const std::function<void(size_t)>& fn);

// "refs/remotes/origin/main" for remote "origin", ref "refs/heads/main".
std::string tracking_ref(const std::string& remote, const std::string& ref);

// Reads a remote ref's value: a 40-hex commit id and a newline. Error(kCorrupt) otherwise.
std::string parse_ref_value(const std::string& key, const std::string& value);

// Fetches the objects that commits `want` (hex, maybe annotated tags) need
// and this repository lacks; stores kura objects as they arrive (verified),
// then git objects in one atomic write. depth 1: no parent commits.
void fetch_objects(Repo& repo, Backend& backend, const std::vector<std::string>& want,
                   unsigned depth, const TransferOptions& options, TransferReport& report);

// The remote's refs (full name -> target hex) and its HEAD's branch ("" if none).
std::map<std::string, std::string> remote_refs(Backend& backend, std::string* head_branch);

}  // namespace kura::remote
