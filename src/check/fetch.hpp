// Downloads for `kura check --fetch`: images that JSONL rows name by http(s)
// URL, fetched with libcurl so they can be checked like inline ones.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace kura::check {

struct FetchLimits {
  std::chrono::seconds timeout{30};      // whole transfer
  std::chrono::seconds connect_timeout{10};
  uint64_t max_bytes = 64ull << 20;      // larger bodies are refused, not stored
};

struct Fetched {
  bool ok = false;
  std::string bytes;
  std::string content_type;  // "image/png", from the response; may be empty
  std::string error;         // why not ok: HTTP status, timeout, DNS, size
};

// GETs `url` (http or https only; up to 5 redirects, which must stay on
// http(s)). Never throws for network trouble: that is `error`.
Fetched fetch_url(const std::string& url, const FetchLimits& limits);

}  // namespace kura::check
