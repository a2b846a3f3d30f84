// The operation journal: .kura/journal names the multi-step operation that
// is under way (checkout, switch, merge, commit, gc, reset, restore), written durably before
// its first change and removed after its last. A process killed in between
// leaves it behind; the next kura process that opens the repository (it
// holds the repository lock, so the writer is gone) reads it, says what was
// interrupted, and finishes the operation (Repo::recover, src/repo/recover.cpp).
//
// The file is one JSON object (docs/architecture.md, "Write order and crash
// safety"):
//   {"op": "checkout", "pid": 123, "command": "kura switch", "target": "<commit>",
//    "head": "refs/heads/b1" | "" (detached at target) | null (paths only),
//    "force": false, "paths": ["a/b", ...], "update_ref": "refs/heads/main", "update_old": "<commit>",
//    "remove_staged_new": true (reset --hard), "reflog": "reset: moving to HEAD~1"}
//   {"op": "commit", "pid": 123, "command": "kura commit", "ref": "refs/heads/main", "old": "<commit>" | ""}
//   {"op": "gc", "pid": 123, "command": "kura gc", "prune_seconds": 1209600}
//   {"op": "reset", "pid": 123, "command": "kura reset", "mode": "mixed", "target": "<commit>",
//    "ref": "refs/heads/main" | "HEAD" (detached), "old": "<commit>" | "", "reflog": "..."}
//   {"op": "restore", "pid": 123, "command": "kura restore", "paths": ["a/b", ""(all)],
//    "source": "<commit>" | "" (the index, or HEAD for staged), "staged": false, "worktree": true}
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>

namespace kura {

// Writes `entry` (with "pid" added) to `kura_dir`/journal: temporary, fsync,
// rename, fsync of the folder. Throws Error(kIo) naming the file.
void write_journal(const std::filesystem::path& kura_dir, nlohmann::json entry);
// The journal left by an interrupted operation, if any. A file that is not
// a JSON object is Error(kCorrupt) naming it (it is written atomically, so
// only outside damage can cause that).
std::optional<nlohmann::json> read_journal(const std::filesystem::path& kura_dir);
// Removes the journal durably; the operation is complete.
void clear_journal(const std::filesystem::path& kura_dir);

}  // namespace kura
