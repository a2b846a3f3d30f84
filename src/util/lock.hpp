// The repository lock: an flock() on .kura/lock, held for a process's whole
// use of the repository. The file records the holder (pid and command) so a
// waiting process can say who it waits for. The kernel drops the lock when
// the holder dies, even by kill -9, so a crash never leaves it stuck.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace kura {

class RepoLock {
 public:
  // Waits up to `timeout` for the lock; then throws Error(kLocked) naming the
  // lock file and its holder. `on_wait` is told once when waiting begins.
  RepoLock(const std::filesystem::path& lock_file, const std::string& command,
           std::chrono::milliseconds timeout);
  ~RepoLock();
  RepoLock(const RepoLock&) = delete;
  RepoLock& operator=(const RepoLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace kura
