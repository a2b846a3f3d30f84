#include "util/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <tuple>
#include <thread>

#include "kura/error.hpp"

namespace kura {

namespace {
std::string read_holder(int fd) {
  char buf[256];
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "unknown process";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "unknown process" : s;
}
}  // namespace

RepoLock::RepoLock(const std::filesystem::path& lock_file, const std::string& command,
                   std::chrono::milliseconds timeout) {
  fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail_errno("open the lock file", lock_file.string());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool told = false;
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      ::close(fd_);
      fail_errno("lock", lock_file.string());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string holder = read_holder(fd_);
      ::close(fd_);
      fail(ErrorCode::kLocked, "repository is locked: " + lock_file.string() + " is held by " +
                                   holder + "; wait for it to finish or raise --lock-timeout");
    }
    if (!told && timeout.count() > 500) {
      std::fprintf(stderr, "kura: waiting for %s (held by %s)\n", lock_file.c_str(),
                   read_holder(fd_).c_str());
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string me = "pid " + std::to_string(::getpid()) + " (" + command + ")\n";
  if (::ftruncate(fd_, 0) == 0) std::ignore = ::pwrite(fd_, me.data(), me.size(), 0);  // informative only
}

RepoLock::~RepoLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace kura
