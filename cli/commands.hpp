// Each cmd_*.cpp registers its subcommands. A subcommand's callback stores
// the action to run; main() runs it inside the one error boundary.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "output.hpp"

namespace kura::cli {

using Action = std::function<int()>;

void add_repo_commands(CLI::App& app, Global& g, Action& action);     // init add rm status commit
void add_history_commands(CLI::App& app, Global& g, Action& action);  // log show ls-files checkout switch branch tag
void add_maint_commands(CLI::App& app, Global& g, Action& action);    // fsck gc
void add_check_commands(CLI::App& app, Global& g, Action& action);    // check, hook install
void add_exclude_commands(CLI::App& app, Global& g, Action& action);  // exclude include
void add_fix_commands(CLI::App& app, Global& g, Action& action);      // fix
void add_diff_commands(CLI::App& app, Global& g, Action& action);     // diff
void add_remote_commands(CLI::App& app, Global& g, Action& action);   // remote push fetch pull clone
void add_merge_commands(CLI::App& app, Global& g, Action& action);    // merge
// Prints a merge that stopped (conflicts, or --no-commit) as text or JSON
// and returns its exit status: 1 with conflicts, 0 without (cmd_merge.cpp).
int report_stopped_merge(const MergeResult& r, const std::string& theirs, const std::string& branch, bool json,
                         bool quiet);
void add_export_commands(CLI::App& app, Global& g, Action& action);    // export
void add_train_commands(CLI::App& app, Global& g, Action& action);    // runs run; train reproduce export-model predict (via kura-train)
void add_serve_commands(CLI::App& app, Global& g, Action& action);    // serve
void add_train_run_commands(CLI::App& app, Global& g, Action& action);  // in kura-train: train reproduce export-model predict

}  // namespace kura::cli
