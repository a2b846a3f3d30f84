#include "export/background.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <tuple>

#include "util/fs.hpp"

namespace kura::exporter {

WriteBehind::WriteBehind(int fd, Sha256& sha) : fd_(fd), sha_(sha), thread_([this] { run(); }) {}

WriteBehind::~WriteBehind() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    queue_.clear();
  }
  changed_.notify_all();
  thread_.join();
}

std::string WriteBehind::push(std::string full) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return queue_.size() < kDepth; });
  queue_.push_back(std::move(full));
  std::string next;
  if (!spare_.empty()) {
    next = std::move(spare_.back());
    spare_.pop_back();
  }
  lock.unlock();
  changed_.notify_all();
  return next;
}

void WriteBehind::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

int WriteBehind::error() {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

void WriteBehind::run() {
  bool failed = false;
  for (;;) {
    std::string buffer;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      buffer = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    sha_.update(buffer);
    int err = 0;
    if (fd_ >= 0 && !failed) {
      err = write_fully(fd_, buffer);
      // Starts the write-out of these pages now, while the export goes on,
      // instead of leaving all of it to the syncfs at the end (which still
      // waits for every byte): a hint, whose failure only loses the overlap.
      if (!err) std::ignore = ::sync_file_range(fd_, offset_, static_cast<off_t>(buffer.size()), SYNC_FILE_RANGE_WRITE);
      offset_ += static_cast<off_t>(buffer.size());
      failed = err != 0;
    }
    buffer.clear();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (err && !error_) error_ = err;
      spare_.push_back(std::move(buffer));
      busy_ = false;
    }
    changed_.notify_all();
  }
}

FilePool::FilePool(unsigned threads) : threads_(threads ? threads : 1) {}

FilePool::~FilePool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    queue_.clear();
  }
  changed_.notify_all();
  for (auto& t : workers_) t.join();
}

void FilePool::rethrow() {
  if (!error_) return;
  std::exception_ptr e = error_;
  error_ = nullptr;
  queue_.clear();
  std::rethrow_exception(e);
}

void FilePool::submit(std::function<void()> job) {
  pending_.push_back(std::move(job));
  if (pending_.size() >= kBatch) hand_on();
}

void FilePool::hand_on() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (workers_.empty())
      for (unsigned i = 0; i < threads_; ++i) workers_.emplace_back([this] { run(); });
    ++waiting_;
    changed_.wait(lock, [this] { return queue_.size() + pending_.size() <= kQueued || error_; });
    --waiting_;
    if (error_) pending_.clear();
    rethrow();
    for (auto& job : pending_) queue_.push_back(std::move(job));
    pending_.clear();
  }
  changed_.notify_all();  // the workers (this thread is the only one that submits or drains)
}

void FilePool::drain() {
  if (!pending_.empty()) hand_on();
  std::unique_lock<std::mutex> lock(mutex_);
  ++waiting_;
  changed_.wait(lock, [this] { return (queue_.empty() && running_ == 0) || error_; });
  if (error_) changed_.wait(lock, [this] { return running_ == 0; });  // no job outlives the error's report
  --waiting_;
  rethrow();
}

void FilePool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    std::exception_ptr failed;
    bool wake = false;
    try {
      job();
    } catch (...) {
      failed = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --running_;
      if (failed && !error_) error_ = failed;
      if (error_) queue_.clear();
      // Only the owner waits for jobs to end: for room for a batch, or in
      // drain() for none left (waking it sooner only puts it back to sleep).
      wake = error_ || (waiting_ && (queue_.size() + kBatch <= kQueued || (queue_.empty() && running_ == 0)));
    }
    if (wake) changed_.notify_all();
  }
}

}  // namespace kura::exporter
