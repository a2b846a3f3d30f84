#include "check/fetch.hpp"

#include <memory>
#include <string>

#include "util/curl.hpp"

namespace kura::check {

namespace {

struct Sink {
  std::string* out;
  uint64_t max;
  bool too_big = false;
};

size_t on_data(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * count;
  if (sink->out->size() + n > sink->max) {
    sink->too_big = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  sink->out->append(data, n);
  return n;
}

}  // namespace

Fetched fetch_url(const std::string& url, const FetchLimits& limits) {
  const curl::Api& C = curl::api();
  Fetched result;
  std::unique_ptr<CURL, void (*)(CURL*)> handle(C.easy_init(), C.easy_cleanup);
  if (!handle) {
    result.error = "cannot start a download (libcurl)";
    return result;
  }
  char message[CURL_ERROR_SIZE] = "";
  Sink sink{&result.bytes, limits.max_bytes};
  CURL* c = handle.get();
  C.easy_setopt(c, CURLOPT_URL, url.c_str());
  C.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  C.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  C.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  C.easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  C.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // worker threads
  C.easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(limits.timeout.count()));
  C.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(limits.connect_timeout.count()));
  C.easy_setopt(c, CURLOPT_USERAGENT, "kura-check/" KURA_VERSION);
  C.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  C.easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  C.easy_setopt(c, CURLOPT_ERRORBUFFER, message);
  C.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_bytes));
  const CURLcode rc = C.easy_perform(c);
  long status = 0;
  C.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (sink.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
    result.error = "the download is larger than " + std::to_string(limits.max_bytes >> 20) + " MB; not checked";
    result.bytes.clear();
    return result;
  }
  if (rc != CURLE_OK) {
    result.error = std::string(message[0] ? message : C.easy_strerror(rc));
    if (rc == CURLE_OPERATION_TIMEDOUT)
      result.error += " (gave up after " + std::to_string(limits.timeout.count()) + " s)";
    result.bytes.clear();
    return result;
  }
  if (status < 200 || status >= 300) {
    result.error = "the server answered HTTP " + std::to_string(status) +
                   (status == 404 ? " (not found)" : status == 403 ? " (forbidden: not public)" : "");
    result.bytes.clear();
    return result;
  }
  char* type = nullptr;
  if (C.easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type) result.content_type = type;
  result.ok = true;
  return result;
}

}  // namespace kura::check
