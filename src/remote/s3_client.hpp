// A small S3 client over libcurl: AWS Signature V4 (CURLOPT_AWS_SIGV4),
// path-style URLs, a pool of reusable connections, retries of transient
// failures, and HTTP errors translated into one-line kura::Errors that say
// what the status means. Thread-safe: each request borrows a handle.
//
// libcurl 7.88 quirks handled here: it does not send x-amz-content-sha256
// (we add it: the payload's SHA-256, which the server then verifies, or
// UNSIGNED-PAYLOAD), it does not canonicalise the query (callers pass
// parameters sorted and encoded), and uploads need a Content-Length.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kura/object_id.hpp"

namespace kura::remote {

struct S3Response {
  long status = 0;
  std::string body;
  std::string etag;  // without quotes
};

struct S3Config {
  std::string endpoint;  // "http://127.0.0.1:27480"
  std::string region;
  std::string bucket;
  std::string access_key, secret_key;
  double connect_timeout = 5;
  unsigned connections = 16;
};

class S3Client {
 public:
  explicit S3Client(S3Config config);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // One request on `key` (a full key inside the bucket; "" for the bucket
  // itself). `query` is already sorted and encoded. Transient failures
  // (connection, 5xx, 429) are retried; statuses in `accept` (e.g. 404, 412)
  // are returned, any other non-2xx throws Error naming the key and the
  // status's meaning. `sha256` names the body's hash when known.
  S3Response request(const char* method, const std::string& key, const std::string& query,
                     std::string_view body, const std::vector<std::string>& headers,
                     std::initializer_list<long> accept, const ObjectId* sha256 = nullptr);

  const S3Config& config() const { return config_; }
  // "s3://bucket/key" for messages.
  std::string where(const std::string& key) const;

 private:
  void* acquire();
  void release(void* handle);
  S3Config config_;
  std::mutex mutex_;
  std::vector<void*> idle_;  // CURL* handles keeping their connections alive
};

// Percent-encodes everything but unreserved characters (and '/', unless
// `slash` is false), as SigV4 canonical requests expect.
std::string uri_encode(std::string_view s, bool slash);

}  // namespace kura::remote
