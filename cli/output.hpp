// Terminal output helpers for the kura command: JSON printing, colours and
// progress bars (only when the stream is a terminal), human-readable sizes.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kura/repo.hpp"

namespace kura::cli {

struct Global {
  std::string dir = ".";
  double lock_timeout = 30;
  bool quiet = false;
  std::vector<std::string> paths;  // the arguments after "--"
};

// Opens the repository found from the -C folder, with a progress bar on
// stderr when it is a terminal and --quiet is not given.
enum class Mode { kWrite, kRead };
std::unique_ptr<Repo> open_repo(const Global& g, const std::string& command, bool json, Mode mode = Mode::kWrite);

bool stdout_is_tty();
std::string color(const std::string& text, const char* code);  // no-op when stdout is not a tty
std::string human_bytes(uint64_t bytes);
std::string format_time(int64_t time, int offset_minutes);
void print_json(const nlohmann::json& j);

nlohmann::json to_json(const CommitInfo& c);
nlohmann::json to_json(const FileEntry& f);

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
