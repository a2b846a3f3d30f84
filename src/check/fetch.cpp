#include "check/fetch.hpp"

#include <curl/curl.h>

#include <memory>
#include <mutex>

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

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

Fetched fetch_url(const std::string& url, const FetchLimits& limits) {
  global_init();
  Fetched result;
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    result.error = "cannot start a download (libcurl)";
    return result;
  }
  char message[CURL_ERROR_SIZE] = "";
  Sink sink{&result.bytes, limits.max_bytes};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // worker threads
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(limits.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(limits.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "kura-check/" KURA_VERSION);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, message);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_bytes));
  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (sink.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
    result.error = "the download is larger than " + std::to_string(limits.max_bytes >> 20) + " MB; not checked";
    result.bytes.clear();
    return result;
  }
  if (rc != CURLE_OK) {
    result.error = std::string(message[0] ? message : curl_easy_strerror(rc));
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
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type) result.content_type = type;
  result.ok = true;
  return result;
}

}  // namespace kura::check
