// The state of a merge in progress, .kura/MERGE_STATE (docs/merge.md): one
// JSON object, replaced atomically (temporary, fsync, rename, fsync of
// .kura/), written before the merge touches the working folder and removed
// by the merge commit or by abort:
//   {"theirs": "<commit>", "theirs_name": "relabel", "orig_head": "<commit>",
//    "branch": "refs/heads/main", "message": "Merge branch 'relabel'",
//    "worktree": "<commit>",      the clean part: an unreferenced commit whose
//                                 tree the merge checks out (conflicting paths: ours)
//    "stage": "writing" | "stopped",
//    "conflicts": [{"path", "reason", "base_object", "ours_object", "theirs_object",
//                   "file": "<pointer text of the working file with the marked blocks>",
//                   "rows": [{"kind", "base_line", ...}]}]}
// "writing": the worktree checkout and the conflict files may be under way;
// the next command (recover_merge) finishes them. "stopped": all written.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kura/repo.hpp"

namespace kura {

struct StoredMerge {
  MergeState state;
  std::string worktree;
  std::string stage;                                        // "writing" or "stopped"
  std::vector<std::pair<std::string, std::string>> files;   // path, pointer text of its marked file
};

// nullopt when no merge is in progress; Error(kCorrupt) naming the file when damaged.
std::optional<StoredMerge> read_merge_state(const std::filesystem::path& kura_dir);
void write_merge_state(const std::filesystem::path& kura_dir, const StoredMerge& merge);
void clear_merge_state(const std::filesystem::path& kura_dir);

// Checks out the merge's worktree commit (HEAD stays) and writes the marked
// files over the conflicting tables, then records stage "stopped".
// `resume`: recovery, after a kill.
void write_merge_worktree(Repo& repo, Repo::Impl& impl, StoredMerge& merge, bool resume);

// Recovery (Repo::recover): finishes a merge left in stage "writing"; drops
// a state that a completed merge commit left behind (HEAD moved on).
void recover_merge(Repo& repo, Repo::Impl& impl);

// For the merge commit: Error(kConflict) naming the first conflicting path
// that is not resolved (working file differs from the staged one, or the
// staged table still holds marker lines, with their line).
void check_merge_resolved(Repo& repo, Repo::Impl& impl, const StoredMerge& merge);

}  // namespace kura
