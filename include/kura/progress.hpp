// Progress of a long-running step, reported to a callback so a front end can
// draw a progress bar. The callback runs on the thread that called the
// library (never on a worker), about ten times a second.
#pragma once

#include <cstdint>
#include <functional>

namespace kura {

// One long-running step, for progress bars. Called from the calling thread.
struct Progress {
  const char* phase = "";   // "hashing", "checking out", ...
  uint64_t done = 0, total = 0;
  uint64_t bytes_done = 0, bytes_total = 0;
};
using ProgressFn = std::function<void(const Progress&)>;

}  // namespace kura
