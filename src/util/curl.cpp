#include "util/curl.hpp"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "kura/error.hpp"

namespace kura::curl {

namespace {

constexpr const char* kLibrary = "libcurl.so.4";

struct Loaded {
  Api api{};
  std::string error;  // empty when loaded
};

template <typename F>
bool resolve(void* handle, const char* name, F& out, std::string& error) {
  out = reinterpret_cast<F>(::dlsym(handle, name));
  if (!out && error.empty()) error = std::string(kLibrary) + " has no " + name + " (too old?)";
  return out != nullptr;
}

Loaded load() {
  Loaded l;
  void* handle = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    l.error = std::string("cannot load ") + kLibrary + " (needed for HTTP: remotes, check --fetch): " +
              (why ? why : "unknown error") + "; install it with scripts/setup.sh (Debian package libcurl4)";
    return l;
  }
  decltype(&::curl_global_init) global_init = nullptr;
  std::string& e = l.error;
  resolve(handle, "curl_global_init", global_init, e);
  resolve(handle, "curl_easy_init", l.api.easy_init, e);
  resolve(handle, "curl_easy_cleanup", l.api.easy_cleanup, e);
  resolve(handle, "curl_easy_reset", l.api.easy_reset, e);
  resolve(handle, "curl_easy_setopt", l.api.easy_setopt, e);
  resolve(handle, "curl_easy_perform", l.api.easy_perform, e);
  resolve(handle, "curl_easy_getinfo", l.api.easy_getinfo, e);
  resolve(handle, "curl_easy_strerror", l.api.easy_strerror, e);
  resolve(handle, "curl_slist_append", l.api.slist_append, e);
  resolve(handle, "curl_slist_free_all", l.api.slist_free_all, e);
  if (!e.empty()) return l;
  if (CURLcode rc = global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK)
    e = std::string("cannot initialise ") + kLibrary + " (curl_global_init returned " + std::to_string(rc) + ")";
  return l;  // never unloaded: curl_global_cleanup is not thread-safe
}

}  // namespace

const Api& api() {
  static const Loaded loaded = load();  // thread-safe initialisation
  if (!loaded.error.empty()) fail(ErrorCode::kIo, loaded.error);
  return loaded.api;
}

}  // namespace kura::curl
