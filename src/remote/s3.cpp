// A remote in an S3-compatible store (Ceph RGW, MinIO, AWS): one key per
// remote key under s3://BUCKET/PREFIX/. Objects of multipart_threshold bytes
// or more are uploaded in parts. Refs move by conditional PUT: If-Match with
// the ETag read before (If-None-Match: * for a new ref), which the store
// checks atomically; docs/remotes.md says which stores honour it. Before the
// first ref update of a process, a probe checks that the store does refuse a
// PUT whose condition fails, so a store that ignores the headers is refused
// rather than trusted.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "kura/error.hpp"
#include "remote/backend.hpp"
#include "remote/s3_client.hpp"
#include "util/url.hpp"

namespace kura::remote {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::vector<std::string> xml_values(const std::string& xml, const std::string& tag) {
  std::vector<std::string> out;
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  for (size_t a = xml.find(open); a != std::string::npos; a = xml.find(open, a)) {
    a += open.size();
    size_t b = xml.find(close, a);
    if (b == std::string::npos) break;
    out.push_back(xml.substr(a, b - a));
    a = b;
  }
  return out;
}

std::string xml_unescape(std::string s) {
  const std::pair<const char*, const char*> entities[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}};
  for (const auto& [from, to] : entities)
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + 1))
      s.replace(p, std::strlen(from), to);
  return s;
}

class S3Backend final : public Backend {
 public:
  S3Backend(const RemoteSettings& s, S3Config config, std::string prefix)
      : url_(redact_url(s.url)),
        prefix_(std::move(prefix)),
        client_(std::move(config)),
        multipart_threshold_(s.multipart_threshold),
        part_size_(std::max<uint64_t>(s.part_size, 5ull << 20)) {}

  const std::string& url() const override { return url_; }
  unsigned connections() const override { return client_.config().connections; }

  std::optional<std::string> get(const std::string& key) override {
    ++counters_.requests;
    S3Response r = client_.request("GET", full(key), "", {}, {}, {404});
    if (r.status == 404) {
      check_bucket_exists(r);
      return std::nullopt;
    }
    counters_.bytes_down += r.body.size();
    return std::move(r.body);
  }

  void put(const std::string& key, std::string_view bytes, const ObjectId* sha256) override {
    if (bytes.size() >= multipart_threshold_) return put_multipart(key, bytes);
    ++counters_.requests;
    client_.request("PUT", full(key), "", bytes, {}, {}, sha256);
    counters_.bytes_up += bytes.size();
  }

  bool exists(const std::string& key) override {
    ++counters_.requests;
    return client_.request("HEAD", full(key), "", {}, {}, {404}).status != 404;
  }

  void list(const std::string& prefix, const std::function<void(const std::string&)>& fn) override {
    std::string token;
    const size_t strip = prefix_.empty() ? 0 : prefix_.size() + 1;
    for (;;) {
      ++counters_.requests;
      // Parameters sorted by name, values encoded (libcurl 7.88 signs the query as given).
      std::string query;
      if (!token.empty()) query += "continuation-token=" + uri_encode(token, false) + "&";
      query += "list-type=2&prefix=" + uri_encode(full(prefix), false);
      S3Response r = client_.request("GET", "", query, {}, {}, {404});
      if (r.status == 404) {
        check_bucket_exists(r);
        return;
      }
      for (const auto& k : xml_values(r.body, "Key")) {
        std::string key = xml_unescape(k);
        if (key.size() >= strip) fn(key.substr(strip));
      }
      auto truncated = xml_values(r.body, "IsTruncated");
      auto next = xml_values(r.body, "NextContinuationToken");
      if (truncated.empty() || truncated[0] != "true" || next.empty()) return;
      token = xml_unescape(next[0]);
    }
  }

  void remove(const std::string& key) override {
    ++counters_.requests;
    client_.request("DELETE", full(key), "", {}, {}, {404});
  }

  Versioned get_versioned(const std::string& key) override {
    ++counters_.requests;
    Versioned v;
    S3Response r = client_.request("GET", full(key), "", {}, {}, {404});
    if (r.status == 404) {
      check_bucket_exists(r);
      return v;
    }
    v.value = std::move(r.body);
    v.version = r.etag;
    return v;
  }

  bool put_if(const std::string& key, std::string_view value,
              const std::string& expected) override {
    probe_conditional_put();
    ++counters_.requests;
    // RGW compares If-Match with the stored ETag as given: send it without quotes.
    const std::string condition = expected.empty() ? "If-None-Match: *" : "If-Match: " + expected;
    S3Response r = client_.request("PUT", full(key), "", value, {condition}, {412});
    return r.status != 412;
  }

  void prepare_for_writes() override {
    ++counters_.requests;
    S3Response r = client_.request("HEAD", "", "", {}, {}, {404});
    if (r.status == 404) client_.request("PUT", "", "", {}, {}, {409});  // 409: created meanwhile
  }

 private:
  std::string full(const std::string& key) const {
    return prefix_.empty() ? key : prefix_ + "/" + key;
  }

  // A 404 is "no such key" only when the store says so; anything else
  // answering 404 (a web server, a captive proxy) is not an S3 store.
  void check_bucket_exists(const S3Response& r) {
    if (r.body.find("NoSuchBucket") != std::string::npos)
      fail(ErrorCode::kNotFound, "bucket '" + client_.config().bucket + "' does not exist at " +
                                     redact_url(client_.config().endpoint) + " (" + url_ +
                                     "); push creates it");
    if (r.body.find("NoSuchKey") == std::string::npos)
      fail(ErrorCode::kIo, redact_url(client_.config().endpoint) +
                               " answered HTTP 404 without an S3 error code; is it an S3 "
                               "endpoint? (check the remote's endpoint or AWS_ENDPOINT_URL)");
  }

  // A PUT with a condition that cannot hold must come back 412.
  void probe_conditional_put() {
    if (probed_.load()) return;
    const std::string key = full("refs/.kura-cas-probe");
    S3Response r = client_.request("PUT", key, "", "probe\n",
                                   {"If-Match: 0000000000000000000000000000000"}, {412});
    if (r.status != 412) {
      std::ignore =
          client_.request("DELETE", key, "", {}, {}, {404});  // best effort: the probe's trace
      fail(ErrorCode::kIo,
           "the store at " + redact_url(client_.config().endpoint) +
               " ignores conditional writes (If-Match); kura cannot update refs there without "
               "risking lost updates (see docs/remotes.md)");
    }
    probed_ = true;
  }

  void put_multipart(const std::string& key, std::string_view bytes) {
    const std::string k = full(key);
    ++counters_.requests;
    S3Response init = client_.request("POST", k, "uploads=", {}, {}, {});
    auto ids = xml_values(init.body, "UploadId");
    if (ids.empty())
      fail(ErrorCode::kIo, "POST " + client_.where(k) + "?uploads: no UploadId in the answer");
    const std::string upload_id = uri_encode(xml_unescape(ids[0]), false);
    try {
      std::string complete = "<CompleteMultipartUpload>";
      size_t part = 1;
      for (size_t off = 0; off < bytes.size(); off += part_size_, ++part) {
        std::string_view piece = bytes.substr(off, part_size_);
        ++counters_.requests;
        S3Response r = client_.request(
            "PUT", k, "partNumber=" + std::to_string(part) + "&uploadId=" + upload_id, piece, {},
            {});
        counters_.bytes_up += piece.size();
        complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>\"" + r.etag +
                    "\"</ETag></Part>";
      }
      complete += "</CompleteMultipartUpload>";
      ++counters_.requests;
      S3Response done = client_.request("POST", k, "uploadId=" + upload_id, complete, {}, {});
      if (done.body.find("<Error>") != std::string::npos)
        fail(ErrorCode::kIo,
             "multipart upload of " + client_.where(k) + " failed: " + done.body.substr(0, 200));
    } catch (...) {
      try {
        client_.request("DELETE", k, "uploadId=" + upload_id, {}, {}, {404});
      } catch (const Error&) {
        // best effort: an abandoned upload only costs space until the store's lifecycle removes it
      }
      throw;
    }
  }

  std::string url_, prefix_;
  S3Client client_;
  uint64_t multipart_threshold_, part_size_;
  std::atomic<bool> probed_{false};
};

}  // namespace

std::unique_ptr<Backend> open_s3_backend(const RemoteSettings& s) {
  // s3://bucket/prefix
  std::string rest = s.url.substr(5);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const size_t slash = rest.find('/');
  S3Config c;
  c.bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (c.bucket.size() < 3)
    fail(ErrorCode::kInvalidInput, "'" + redact_url(s.url) + "': an S3 bucket name has at least 3 characters");
  c.endpoint = !s.endpoint.empty()                  ? s.endpoint
               : env("AWS_ENDPOINT_URL_S3").empty() ? env("AWS_ENDPOINT_URL")
                                                    : env("AWS_ENDPOINT_URL_S3");
  if (c.endpoint.empty())
    fail(ErrorCode::kInvalidInput,
         "no S3 endpoint for remote '" + s.name +
             "': set AWS_ENDPOINT_URL or give --endpoint to 'kura remote add'");
  // An endpoint stored by an older kura, or given in the environment.
  refuse_userinfo(c.endpoint, !s.endpoint.empty()                  ? "remote." + s.name + ".endpoint"
                              : env("AWS_ENDPOINT_URL_S3").empty() ? std::string("AWS_ENDPOINT_URL")
                                                                   : std::string("AWS_ENDPOINT_URL_S3"));
  if (c.endpoint.find("://") == std::string::npos) c.endpoint = "https://" + c.endpoint;
  c.region = !s.region.empty()                    ? s.region
             : !env("AWS_REGION").empty()         ? env("AWS_REGION")
             : !env("AWS_DEFAULT_REGION").empty() ? env("AWS_DEFAULT_REGION")
                                                  : "us-east-1";
  c.access_key = env("AWS_ACCESS_KEY_ID");
  c.secret_key = env("AWS_SECRET_ACCESS_KEY");
  if (c.access_key.empty() || c.secret_key.empty())
    fail(ErrorCode::kInvalidInput,
         "no S3 credentials for " + redact_url(s.url) +
             ": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment");
  c.connect_timeout = s.connect_timeout;
  c.connections = s.connections ? s.connections : 16;
  return std::make_unique<S3Backend>(s, std::move(c), std::move(prefix));
}

}  // namespace kura::remote
