#include "remote/s3_client.hpp"

#include <cctype>
#include <chrono>
#include <cstring>
#include <thread>

#include "kura/error.hpp"
#include "util/curl.hpp"
#include "util/url.hpp"

namespace kura::remote {

namespace {

struct Upload {
  std::string_view data;
  size_t offset = 0;
};

size_t read_body(char* buf, size_t size, size_t n, void* p) {
  auto* u = static_cast<Upload*>(p);
  size_t len = std::min(size * n, u->data.size() - u->offset);
  std::memcpy(buf, u->data.data() + u->offset, len);
  u->offset += len;
  return len;
}

size_t write_body(char* buf, size_t size, size_t n, void* p) {
  static_cast<std::string*>(p)->append(buf, size * n);
  return size * n;
}

size_t read_header(char* buf, size_t size, size_t n, void* p) {
  std::string_view line(buf, size * n);
  if (line.size() > 5 && (line.substr(0, 5) == "ETag:" || line.substr(0, 5) == "etag:" ||
                          line.substr(0, 5) == "Etag:")) {
    std::string v(line.substr(5));
    auto strip = [](char c) { return c == ' ' || c == '"' || c == '\r' || c == '\n'; };
    while (!v.empty() && strip(v.front())) v.erase(v.begin());
    while (!v.empty() && strip(v.back())) v.pop_back();
    *static_cast<std::string*>(p) = v;
  }
  return size * n;
}

std::string xml_value(const std::string& xml, const std::string& tag) {
  auto a = xml.find("<" + tag + ">");
  if (a == std::string::npos) return "";
  a += tag.size() + 2;
  auto b = xml.find("</" + tag + ">", a);
  return b == std::string::npos ? "" : xml.substr(a, b - a);
}

std::string meaning(long status, const std::string& code) {
  switch (status) {
    case 400:
      return "HTTP 400 Bad Request" + (code.empty() ? "" : " (" + code + ")");
    case 403:
      return "HTTP 403 Forbidden" + (code.empty() ? "" : " (" + code + ")") +
             ": the store refused the credentials; check AWS_ACCESS_KEY_ID and "
             "AWS_SECRET_ACCESS_KEY "
             "(and that this key may use the bucket)";
    case 404:
      return "HTTP 404 Not Found" + (code.empty() ? "" : " (" + code + ")");
    case 411:
      return "HTTP 411 Length Required";
    case 412:
      return "HTTP 412 Precondition Failed";
    default:
      return "HTTP " + std::to_string(status) + (code.empty() ? "" : " (" + code + ")");
  }
}

bool transient(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

}  // namespace

std::string uri_encode(std::string_view s, bool slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

S3Client::S3Client(S3Config config) : config_(std::move(config)) {
  curl::api();  // loads libcurl now: a missing library is reported before any request
  while (!config_.endpoint.empty() && config_.endpoint.back() == '/') config_.endpoint.pop_back();
}

S3Client::~S3Client() {
  for (void* h : idle_) curl::api().easy_cleanup(static_cast<CURL*>(h));
}

void* S3Client::acquire() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  CURL* h = curl::api().easy_init();
  if (!h) fail(ErrorCode::kIo, "cannot start an HTTP client (libcurl)");
  return h;
}

void S3Client::release(void* handle) {
  std::lock_guard<std::mutex> guard(mutex_);
  idle_.push_back(handle);
}

std::string S3Client::where(const std::string& key) const {
  return "s3://" + config_.bucket + "/" + key;
}

S3Response S3Client::request(const char* method, const std::string& key, const std::string& query,
                             std::string_view body, const std::vector<std::string>& headers,
                             std::initializer_list<long> accept, const ObjectId* sha256) {
  const curl::Api& C = curl::api();
  const std::string url = config_.endpoint + "/" + uri_encode(config_.bucket, false) +
                          (key.empty() ? "" : "/" + uri_encode(key, true)) +
                          (query.empty() ? "" : "?" + query);
  const std::string sigv4 = "aws:amz:" + config_.region + ":s3";
  const std::string userpwd = config_.access_key + ":" + config_.secret_key;
  const std::string method_s = method;
  const bool has_body = method_s == "PUT" || method_s == "POST";
  const std::string payload_hash = sha256     ? sha256->hex()
                                   : has_body ? kura::sha256(body).hex()
                                              : std::string("UNSIGNED-PAYLOAD");

  std::string last_error;
  constexpr int kAttempts = 3;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (attempt) std::this_thread::sleep_for(std::chrono::milliseconds(200 << (2 * (attempt - 1))));
    CURL* h = static_cast<CURL*>(acquire());
    struct Releaser {
      S3Client* c;
      CURL* h;
      ~Releaser() { c->release(h); }
    } releaser{this, h};
    C.easy_reset(h);  // keeps the connection cache
    curl_slist* list = nullptr;
    struct ListFree {
      curl_slist** l;
      ~ListFree() { curl::api().slist_free_all(*l); }
    } list_free{&list};
    list = C.slist_append(list, ("x-amz-content-sha256: " + payload_hash).c_str());
    for (const auto& hdr : headers) list = C.slist_append(list, hdr.c_str());
    S3Response r;
    Upload upload{body, 0};
    C.easy_setopt(h, CURLOPT_URL, url.c_str());
    C.easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
    C.easy_setopt(h, CURLOPT_USERPWD, userpwd.c_str());
    C.easy_setopt(h, CURLOPT_HTTPHEADER, list);
    C.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    C.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(config_.connect_timeout * 1000));
    // A stalled transfer (under 1 KB/s for 30 s) is a failure, not a hang.
    C.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    C.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
    C.easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    C.easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
    C.easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
    C.easy_setopt(h, CURLOPT_HEADERFUNCTION, read_header);
    C.easy_setopt(h, CURLOPT_HEADERDATA, &r.etag);
    if (has_body) {
      C.easy_setopt(h, CURLOPT_UPLOAD, 1L);
      C.easy_setopt(h, CURLOPT_READFUNCTION, read_body);
      C.easy_setopt(h, CURLOPT_READDATA, &upload);
      C.easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body.size()));
      if (method_s != "PUT") C.easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    } else if (method_s == "HEAD") {
      C.easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (method_s != "GET") {
      C.easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = C.easy_perform(h);
    if (rc != CURLE_OK) {
      last_error = C.easy_strerror(rc);
      continue;  // connection refused, timeout, reset: try again
    }
    C.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    if (r.status >= 200 && r.status < 300) return r;
    for (long a : accept)
      if (a == r.status) return r;
    const std::string code = xml_value(r.body, "Code");
    if (transient(r.status)) {
      last_error = meaning(r.status, code);
      continue;
    }
    fail(r.status == 404 ? ErrorCode::kNotFound : ErrorCode::kIo,
         std::string(method) + " " + where(key) + " at " + redact_url(config_.endpoint) + ": " +
             meaning(r.status, code));
  }
  fail(ErrorCode::kIo,
       "cannot reach the S3 endpoint " + redact_url(config_.endpoint) + " (" + last_error + ") after " +
           std::to_string(kAttempts) +
           " tries; check the remote's endpoint (kura remote -v) or AWS_ENDPOINT_URL");
}

}  // namespace kura::remote
