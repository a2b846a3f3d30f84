// parallel_for: runs fn(i) for i in [0, n) on `threads` worker threads. The
// calling thread waits and calls `tick` about ten times a second (progress
// bars draw there). The first exception thrown by fn stops the remaining
// work and is rethrown in the caller once every worker has stopped.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <chrono>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kura {

inline void parallel_for(size_t n, unsigned threads, const std::function<void(size_t)>& fn,
                         const std::function<void()>& tick = {}) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  if (threads > n) threads = static_cast<unsigned>(n ? n : 1);
  std::atomic<size_t> next{0};
  std::atomic<unsigned> running{threads};
  std::exception_ptr error;
  std::mutex error_mutex;
  std::condition_variable done;
  auto work = [&] {
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= n) break;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> guard(error_mutex);
        if (!error) error = std::current_exception();
        next.store(n);
      }
    }
    std::lock_guard<std::mutex> guard(error_mutex);
    if (--running == 0) done.notify_all();
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
  {
    std::unique_lock<std::mutex> lock(error_mutex);
    while (running.load() > 0) {
      if (tick) {
        lock.unlock();
        tick();
        lock.lock();
      }
      done.wait_for(lock, std::chrono::milliseconds(100), [&] { return running.load() == 0; });
    }
  }
  for (auto& t : pool) t.join();
  if (tick) tick();
  if (error) std::rethrow_exception(error);
}

}  // namespace kura
