// Large folders in a commit's tree (docs/architecture.md, "Trees").
//
// A folder with more than kFanoutThreshold direct entries is written as a
// tree of up to 256 bucket trees named ".kura-fanout.XX", XX being the low
// byte of the 32-bit FNV-1a hash of the entry's name in two hex digits; each
// bucket holds its entries as an ordinary tree would. A commit that changes
// one file of a 100,000-file folder then rewrites one bucket (about 400
// entries) and the 256-entry fanout tree, not a 3.8 MB tree, and readers find
// a name by looking in one bucket. Readers treat any subtree whose name starts
// with kFanoutPrefix as a bucket of its parent folder, so kura refuses to
// version files or folders with such names (`add` skips them and says why).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace kura {

constexpr size_t kFanoutThreshold = 2048;
constexpr std::string_view kFanoutPrefix = ".kura-fanout.";

inline bool is_fanout_name(std::string_view name) { return name.substr(0, kFanoutPrefix.size()) == kFanoutPrefix; }

inline unsigned fanout_bucket(std::string_view name) {
  uint32_t h = 2166136261u;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h & 0xff;
}

inline std::string fanout_bucket_name(unsigned bucket) {
  char buf[4];
  std::snprintf(buf, sizeof buf, "%02x", bucket & 0xff);
  return std::string(kFanoutPrefix) + buf;
}

}  // namespace kura
