// Terminal output helpers for the kura command: JSON printing, colours and
// progress bars (only when the stream is a terminal), human-readable sizes.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kura/repo.hpp"
#include "kura/repo_json.hpp"

namespace kura::cli {

struct Global {
  std::string dir = ".";
  double lock_timeout = 30;
  bool quiet = false;
  std::vector<std::string> paths;  // the arguments after "--"
};

// The global options (-C, --lock-timeout, -q) of kura and kura-train.
void add_global_options(CLI::App& app, Global& g);

// Parses the command line, enters the -C folder and runs the chosen
// command inside the one error boundary; returns the exit status
// (docs/cli.md: 0 ok, 1 negative answer, 2 error, 3 locked).
int run_command_line(CLI::App& app, Global& g, const std::function<int()>& action, int argc, char** argv);

// This process's own command line (argv[0] first), from /proc/self/cmdline.
std::vector<std::string> own_arguments();
// Replaces this process by `program` run with `args`; `what` says why in the
// error when it cannot start.
[[noreturn]] void exec_program(const std::string& program, std::vector<std::string> args, const std::string& what);

// Opens the repository found from the -C folder, with a progress bar on
// stderr when it is a terminal and --quiet is not given.
// kInspect, kRepair: fsck (a store with damaged files opens; see Access).
enum class Mode { kWrite, kRead, kInspect, kRepair };
std::unique_ptr<Repo> open_repo(const Global& g, const std::string& command, bool json, Mode mode = Mode::kWrite);

bool stdout_is_tty();
std::string color(const std::string& text, const char* code);  // no-op when stdout is not a tty
std::string human_bytes(uint64_t bytes);

// git's revision ranges on the command line: "A..B" and "A...B"
// (`symmetric`); an empty side is HEAD ("v1.." is "v1..HEAD"). nullopt
// when `arg` is no range. log and diff give them their meanings.
struct RevRange {
  std::string a, b;
  bool symmetric = false;
};
std::optional<RevRange> parse_range(const std::string& arg);
std::string format_time(int64_t time, int offset_minutes);
void print_json(const nlohmann::json& j);
// Prints `j` (a JSON object) with `report` added under `key`, the report
// written finding by finding (no document of it is built).
// With a filter, only the findings it shows (CheckReport::write_json).
void print_json(const nlohmann::json& j, const char* key, const CheckReport& report, const ReportFilter& filter = {});

// Says on stderr (unless `quiet`) that the untracked .kura/checks.json is in
// force over the tracked policy, so a clone would check differently.
void note_policy(const Policy& policy, bool quiet);

inline nlohmann::json to_json(const CommitInfo& c) { return commit_json(c); }
inline nlohmann::json to_json(const FileEntry& f) { return file_json(f); }

// Draws "phase  done/total  bytes  rate" on stderr, at most ~10 times a second.
class ProgressBar {
 public:
  void update(const Progress& p);
  ~ProgressBar();

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  bool drawn_ = false;
};

}  // namespace kura::cli
