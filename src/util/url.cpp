// Redaction of credentials in URLs, and refusing them in settings.
#include "util/url.hpp"

#include <algorithm>
#include <cctype>

#include "kura/error.hpp"

namespace kura {

namespace {

// [begin, end) of the authority ("user:pw@host:port"), or npos when `url`
// has no "scheme://".
std::pair<size_t, size_t> authority(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {std::string_view::npos, std::string_view::npos};
  const size_t begin = scheme + 3;
  return {begin, std::min(url.find_first_of("/?#", begin), url.size())};
}

bool secret_parameter(std::string name) {
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const char* exact[] = {"x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature",
                                "awsaccesskeyid", "sig"};
  for (const char* e : exact)
    if (name == e) return true;
  for (const char* part : {"token", "secret", "password", "passwd", "key", "credential"})
    if (name.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

bool url_has_userinfo(std::string_view url) {
  auto [begin, end] = authority(url);
  return begin != std::string_view::npos && url.substr(begin, end - begin).find('@') != std::string_view::npos;
}

std::string redact_url(std::string_view url) {
  std::string out;
  auto [begin, end] = authority(url);
  size_t rest = 0;
  if (begin != std::string_view::npos) {
    const size_t at = url.substr(begin, end - begin).rfind('@');
    if (at != std::string_view::npos) {
      out.append(url.substr(0, begin)).append("***");
      rest = begin + at;  // from the '@'
    }
  }
  const size_t query = url.find('?', rest);
  if (query == std::string_view::npos) return out.append(url.substr(rest));
  out.append(url.substr(rest, query + 1 - rest));
  const size_t fragment = std::min(url.find('#', query), url.size());
  for (size_t p = query + 1; p < fragment;) {
    const size_t amp = std::min(url.find('&', p), fragment);
    const std::string_view param = url.substr(p, amp - p);
    const size_t eq = param.find('=');
    if (eq != std::string_view::npos && secret_parameter(std::string(param.substr(0, eq))))
      out.append(param.substr(0, eq + 1)).append("***");
    else
      out.append(param);
    if (amp < fragment) out.push_back('&');
    p = amp + 1;
  }
  return out.append(url.substr(fragment));
}

void refuse_userinfo(std::string_view url, const std::string& what) {
  if (!url_has_userinfo(url)) return;
  fail(ErrorCode::kInvalidInput, what + " '" + redact_url(url) +
                                     "' has a user name or password in it, which kura would store and show; "
                                     "remove the 'user:password@' part and give S3 credentials in "
                                     "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead");
}

}  // namespace kura
