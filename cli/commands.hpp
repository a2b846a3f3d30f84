// Each cmd_*.cpp registers its subcommands. A subcommand's callback stores
// the action to run; main() runs it inside the one error boundary.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>

#include "output.hpp"

namespace kura {
struct DiffReport;
}

namespace kura::cli {

using Action = std::function<int()>;

void add_repo_commands(CLI::App& app, Global& g, Action& action);     // init add rm status commit
void add_history_commands(CLI::App& app, Global& g, Action& action);  // log show ls-files checkout switch branch tag
void add_maint_commands(CLI::App& app, Global& g, Action& action);    // fsck gc
void add_check_commands(CLI::App& app, Global& g, Action& action);    // check, hook install
void add_exclude_commands(CLI::App& app, Global& g, Action& action);  // exclude include
void add_fix_commands(CLI::App& app, Global& g, Action& action);      // fix
void add_diff_commands(CLI::App& app, Global& g, Action& action);     // diff
// `kura diff --stat`'s lines (kura show --stat prints them too).
void print_stat(const DiffReport& report);
void add_remote_commands(CLI::App& app, Global& g, Action& action);   // remote push fetch pull clone
void add_merge_commands(CLI::App& app, Global& g, Action& action);    // merge
// Prints a merge that stopped (conflicts, or --no-commit) as text or JSON
// and returns its exit status: 1 with conflicts, 0 without (cmd_merge.cpp).
int report_stopped_merge(const MergeResult& r, const std::string& theirs, const std::string& branch, bool json,
                         bool quiet,
                         bool revert = false);
// kura show's object ids (cli/show_object.cpp). What `spec` names: a
// commit, or a stored object by its id or a prefix of 8 or more hex digits;
// Error naming the candidates when it is ambiguous, or `spec` when neither.
struct ShowTarget {
  std::optional<CommitInfo> commit;
  std::optional<ObjectId> object;
};
ShowTarget show_target(Repo& repo, const std::string& spec);
struct ShowObjectOptions {
  bool info = false;    // describe it instead of writing its bytes
  bool json = false;    // the description as JSON
  bool binary = false;  // write binary bytes to a terminal too
  std::string rev = "HEAD";  // where its uses are looked for
};
// Writes object `id`'s bytes (verified against the id) to stdout, or
// describes it; returns the exit status.
int show_object(Repo& repo, const ObjectId& id, const ShowObjectOptions& options);
void add_export_commands(CLI::App& app, Global& g, Action& action);    // export
void add_train_commands(CLI::App& app, Global& g, Action& action);    // runs run; train reproduce export-model predict (via kura-train)
void add_serve_commands(CLI::App& app, Global& g, Action& action);    // serve
void add_train_run_commands(CLI::App& app, Global& g, Action& action);  // in kura-train: train reproduce export-model predict
void add_eval_command(CLI::App& app, Global& g, Action& action);        // in kura-train: eval

}  // namespace kura::cli
