// libcurl, loaded on first use.
//
// libcurl.so.4 brings about twenty shared libraries with it (LDAP, Kerberos,
// SSH, RTMP, IDN ...): 16 ms of every kura command before main(), though only
// remotes and `kura check --fetch` speak HTTP. So kura does not link it: the
// first caller of curl::api() loads it with dlopen, resolves the handful of
// functions kura uses and runs curl_global_init once. The functions keep
// libcurl's own signatures (declared by <curl/curl.h>):
//
//   const curl::Api& C = curl::api();   // throws kura::Error when it cannot load
//   CURL* h = C.easy_init();
//   C.easy_setopt(h, CURLOPT_URL, url.c_str());
#pragma once

#include <curl/curl.h>

namespace kura::curl {

struct Api {
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_reset) easy_reset;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
};

// Thread-safe; loads and initialises libcurl on the first call. Throws
// kura::Error(kIo) naming the library when it is missing or incomplete.
const Api& api();

}  // namespace kura::curl
