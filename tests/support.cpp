#include "support.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "kura/object_id.hpp"
#include "util/base64.hpp"

extern char** environ;

namespace kura::test {

TempDir::TempDir() {
  std::string base = (fs::temp_directory_path() / "kura-test-XXXXXX").string();
  if (!::mkdtemp(base.data())) throw std::runtime_error("mkdtemp failed");
  path_ = fs::canonical(base);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_file(const fs::path& path, const std::string& bytes) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string sha256_hex(const std::string& bytes) { return sha256(bytes).hex(); }

fs::path data_path(const std::string& name) { return fs::path(KURA_TEST_DATA) / name; }
std::string data_file(const std::string& name) { return read_file(data_path(name)); }
std::string base64(const std::string& bytes) { return base64_encode(bytes); }
std::string text_rows(int n, const std::string& prefix) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out += R"({"messages":[{"role":"user","content":"Say )" + prefix + std::to_string(i) +
           R"("},{"role":"assistant","content":")" + prefix + std::to_string(i) + "\"}]}\n";
  return out;
}

std::string kura_binary() { return KURA_BIN; }
std::string source_dir() { return KURA_SOURCE_DIR; }

namespace {

int start(const fs::path& cwd, const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
          int out_fd, int err_fd) {
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (::chdir(cwd.c_str()) != 0) ::_exit(127);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    if (out_fd >= 0) ::dup2(out_fd, 1);
    if (err_fd >= 0) ::dup2(err_fd, 2);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

namespace {

RunResult run_with_output(const fs::path& cwd, const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env, const fs::path* out_file) {
  // Output goes to temporary files: no pipe can fill up and block the child.
  TempDir tmp;
  const fs::path out_path = out_file ? *out_file : tmp / "out";
  int out = ::open(out_path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  int err = ::open((tmp / "err").c_str(), O_RDWR | O_CREAT, 0600);
  pid_t pid = start(cwd, argv, env, out, err);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  ::close(out);
  ::close(err);
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  r.max_rss_kb = usage.ru_maxrss;
  if (!out_file) r.out = read_file(out_path);
  r.err = read_file(tmp / "err");
  return r;
}

}  // namespace

RunResult run(const fs::path& cwd, const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  return run_with_output(cwd, argv, env, nullptr);
}

RunResult run_kura_to(const fs::path& out_file, const fs::path& cwd, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {KURA_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_with_output(cwd, argv, {{"KURA_AUTHOR_NAME", "Test Author"}, {"KURA_AUTHOR_EMAIL", "test@example.com"}},
                         &out_file);
}

RunResult run_kura(const fs::path& cwd, const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {KURA_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  auto merged = env;
  merged.emplace("KURA_AUTHOR_NAME", "Test Author");
  merged.emplace("KURA_AUTHOR_EMAIL", "test@example.com");
  return run(cwd, argv, merged);
}

int spawn_kura(const fs::path& cwd, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {KURA_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  int devnull = ::open("/dev/null", O_WRONLY);
  int pid = start(cwd, argv, {{"KURA_AUTHOR_NAME", "Test Author"}, {"KURA_AUTHOR_EMAIL", "t@example.com"}},
                  devnull, devnull);
  ::close(devnull);
  return pid;
}

size_t count_temporaries(const fs::path& root) {
  size_t n = 0;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it)
    if (it->path().filename().string().rfind(".kura-tmp-", 0) == 0) ++n;
  return n;
}

void let_clock_tick() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }

}  // namespace kura::test
