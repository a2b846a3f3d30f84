// The user's own check: an executable .kura/hooks/pre-commit that gets the
// checked paths as arguments and prints findings as JSON lines on stdout:
//   {"rule": "my.rule", "severity": "error", "path": "train.jsonl", "line": 3,
//    "message": "...", "fix": "..."}
// (only "message" is required; rule defaults to hook.finding, severity to error).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kura/check.hpp"

namespace kura::check {

// Runs the hook in `root`. A hook that exits non-zero without printing a
// finding gets one finding saying so (with its stderr); a hook that cannot
// be started throws Error(kIo).
std::vector<Finding> run_user_hook(const std::filesystem::path& hook, const std::filesystem::path& root,
                                   const std::vector<std::string>& paths);

}  // namespace kura::check
