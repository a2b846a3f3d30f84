// Work an export hands to other threads so that the thread rendering the
// output never waits for the kernel: WriteBehind hashes and writes one
// output file's full buffers, in order, while the next buffer is filled;
// FilePool creates and writes small files (the images of hf-imagefolder,
// llava, ...) on worker threads (the export uses one) while rows go on
// being rendered.
//
// Both keep memory bounded (a few buffers, a bounded queue) and hand errors
// back to the owning thread: nothing is reported from a worker.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kura/object_id.hpp"

namespace kura::exporter {

class WriteBehind {
 public:
  // Buffers queued at most: the writer thread lags the caller by this many.
  static constexpr size_t kDepth = 3;

  // Writes to `fd` (none when fd < 0: only hashes) and updates `sha` with
  // every byte, in the order pushed. `sha` and `fd` must outlive this object;
  // `sha` is read by others only after drain().
  WriteBehind(int fd, Sha256& sha);
  // Stops the thread; buffers still queued are dropped (call drain() first
  // to write them).
  ~WriteBehind();
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  // Queues `full` and returns an emptied earlier buffer (its capacity kept)
  // to fill next. Waits while kDepth buffers are queued.
  std::string push(std::string full);
  // Waits until every queued buffer is hashed and written.
  void drain();
  // The errno of the first write that failed, 0 while none has. After a
  // failure the thread goes on hashing but writes nothing more.
  int error();

 private:
  void run();
  const int fd_;
  Sha256& sha_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  std::vector<std::string> spare_;
  bool busy_ = false, stop_ = false;
  int error_ = 0;
  off_t offset_ = 0;  // only the thread's
  std::thread thread_;
};

class FilePool {
 public:
  // Jobs handed to the workers at a time (one wake-up for that many small
  // files), and queued at most before submit() waits.
  static constexpr size_t kBatch = 16;
  static constexpr size_t kQueued = 64;

  // `threads` workers, started on the first submit().
  explicit FilePool(unsigned threads);
  // Waits for the jobs running; the queued ones are dropped.
  ~FilePool();
  FilePool(const FilePool&) = delete;
  FilePool& operator=(const FilePool&) = delete;

  // Queues `job` (handed on with the next kBatch); rethrows here the first
  // exception a job threw (the jobs queued after it are dropped).
  void submit(std::function<void()> job);
  // Waits until every job submitted has run; rethrows the first exception.
  void drain();

 private:
  void run();
  void hand_on();  // pending_ to the queue
  void rethrow();  // with mutex_ held
  const unsigned threads_;
  std::vector<std::function<void()>> pending_;  // the owner's, not yet queued
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> queue_;
  size_t running_ = 0;
  unsigned waiting_ = 0;  // the owner, in submit() or drain()
  bool stop_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

}  // namespace kura::exporter
