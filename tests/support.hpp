// Test helpers: a temporary folder per test, file helpers, and running the
// built kura binary like a user would.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kura::test {

namespace fs = std::filesystem;

// A fresh folder under $TMPDIR, removed with everything in it at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  fs::path path_;
};

void write_file(const fs::path& path, const std::string& bytes);
std::string read_file(const fs::path& path);
std::string sha256_hex(const std::string& bytes);
// A real image from tests/data.
std::string data_file(const std::string& name);
fs::path data_path(const std::string& name);
std::string base64(const std::string& bytes);
// n valid text-only chat rows ("Say <prefix><i>" / "<prefix><i>"), one a line.
std::string text_rows(int n, const std::string& prefix = "w");

struct RunResult {
  int exit_code = -1;  // -signal when killed
  std::string out, err;
  long max_rss_kb = 0;  // peak resident memory of the process (ru_maxrss)
};

// Runs the built kura binary with `args` in folder `cwd`.
RunResult run_kura(const fs::path& cwd, const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env = {});
// Like run_kura, with standard output written to `out_file` (for outputs
// too large to hold); `out` stays empty.
RunResult run_kura_to(const fs::path& out_file, const fs::path& cwd, const std::vector<std::string>& args);
// Runs any program (argv[0] looked up in PATH).
RunResult run(const fs::path& cwd, const std::vector<std::string>& argv,
              const std::map<std::string, std::string>& env = {});
// Starts kura without waiting; returns the pid.
int spawn_kura(const fs::path& cwd, const std::vector<std::string>& args);
std::string kura_binary();
// The source tree (for scripts the tests run, such as tests/export/*.py).
std::string source_dir();

// Files under `root` (its .kura/ included) named like kura's temporaries
// (".kura-tmp-*"): a checkout must never leave one behind.
size_t count_temporaries(const fs::path& root);

// Lets the file-system clock move on, so files written so far count as
// settled for the stat cache (it distrusts files modified in the same tick).
void let_clock_tick();

}  // namespace kura::test
