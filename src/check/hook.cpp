#include "check/hook.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "check/row_check.hpp"
#include "check/rules.hpp"
#include "kura/error.hpp"

namespace kura::check {

namespace {

std::string read_all(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

}  // namespace

std::vector<Finding> run_user_hook(const std::filesystem::path& hook, const std::filesystem::path& root,
                                   const std::vector<std::string>& paths) {
  // Output goes to unlinked temporary files, so a chatty hook cannot block on a full pipe.
  char out_name[] = "/tmp/kura-hook-out-XXXXXX", err_name[] = "/tmp/kura-hook-err-XXXXXX";
  int out = ::mkstemp(out_name), err = ::mkstemp(err_name);
  if (out < 0 || err < 0) fail_errno("create a temporary file for", hook.string());
  ::unlink(out_name);
  ::unlink(err_name);
  std::vector<std::string> argv_s = {hook.string()};
  argv_s.insert(argv_s.end(), paths.begin(), paths.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) fail_errno("start", hook.string());
  if (pid == 0) {
    if (::chdir(root.c_str()) != 0) ::_exit(126);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::lseek(out, 0, SEEK_SET);
  ::lseek(err, 0, SEEK_SET);
  const std::string text = read_all(out), errors = read_all(err);
  ::close(out);
  ::close(err);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code == 126 || code == 127)
    fail(ErrorCode::kIo, "cannot run the hook " + hook.string() + " (is it executable?)");

  std::vector<Finding> findings;
  size_t start = 0, line_no = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(start, nl - start);
    start = nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Finding f;
    try {
      auto j = nlohmann::json::parse(line);
      f = finding_from_json(j);
      if (!j.contains("severity")) f.severity = Severity::kError;
      if (f.rule.empty()) f.rule = "hook.finding";
      if (f.message.empty()) f.message = "(the hook gave no message)";
      if (f.fix.empty()) f.fix = "see " + hook.filename().string();
    } catch (const nlohmann::json::exception&) {
      f.rule = "hook.finding";
      f.message = "hook output line " + std::to_string(line_no) + " is not a JSON finding: " + line.substr(0, 200);
      f.fix = "print one JSON object per line (docs/checks.md)";
    }
    findings.push_back(std::move(f));
  }
  if (code != 0 && findings.empty()) {
    Finding f;
    f.rule = "hook.finding";
    f.message = hook.filename().string() + " exited with status " + std::to_string(code) +
                (errors.empty() ? "" : ": " + errors.substr(0, 500));
    f.fix = "see the hook's own output";
    findings.push_back(std::move(f));
  }
  return findings;
}

}  // namespace kura::check
