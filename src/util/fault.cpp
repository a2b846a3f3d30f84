#include "util/fault.hpp"

#include <atomic>

namespace kura::fault {

namespace {
std::atomic<bool> installed_{false};
std::atomic<int> armed_op_{-1};
std::atomic<uint64_t> remaining_{0};
std::atomic<bool> fired_{false};
std::atomic<uint64_t> counts_[3] = {};
}  // namespace

void install() { installed_ = true; }
bool installed() { return installed_; }

void arm(Op op, uint64_t nth) {
  fired_ = false;
  remaining_ = nth;
  armed_op_ = nth ? static_cast<int>(op) : -1;
}

void disarm() { armed_op_ = -1; }
bool fired() { return fired_; }

uint64_t count(Op op) { return counts_[static_cast<int>(op)]; }
void reset_counts() {
  for (auto& c : counts_) c = 0;
}

bool point(Op op) {
  if (!installed_.load(std::memory_order_relaxed)) return false;
  counts_[static_cast<int>(op)].fetch_add(1, std::memory_order_relaxed);
  if (armed_op_.load(std::memory_order_relaxed) != static_cast<int>(op)) return false;
  if (remaining_.fetch_sub(1) != 1) return false;
  armed_op_ = -1;
  fired_ = true;
  return true;
}

}  // namespace kura::fault
