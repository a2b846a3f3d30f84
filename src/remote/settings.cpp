// Remote settings in the repository's git config, the key layout on a
// remote, and choosing a backend by URL.

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>

#include "kura/error.hpp"
#include "kura/git_objects.hpp"
#include "kura/repo.hpp"
#include "remote/backend.hpp"
#include "util/url.hpp"

namespace kura {

namespace {

bool valid_name(const std::string& name) {
  static const std::regex ok("[A-Za-z0-9][A-Za-z0-9._-]*");
  return std::regex_match(name, ok);
}

uint64_t parse_size(const std::string& key, const std::string& v) {
  try {
    size_t used = 0;
    double n = std::stod(v, &used);
    std::string unit = v.substr(used);
    double mult = unit.empty() || unit == "B"    ? 1
                  : unit == "K" || unit == "KiB" ? 1024.0
                  : unit == "M" || unit == "MiB" ? 1048576.0
                  : unit == "G" || unit == "GiB" ? 1073741824.0
                                                 : -1;
    if (mult < 0 || n < 0) throw std::invalid_argument(unit);
    return static_cast<uint64_t>(n * mult);
  } catch (const std::exception&) {
    fail(ErrorCode::kInvalidInput, "config " + key + ": '" + v + "' is not a size (e.g. 64MiB)");
  }
}

}  // namespace

std::vector<RemoteSettings> list_remotes(const Repo& repo) {
  std::map<std::string, RemoteSettings> by_name;
  for (const auto& [key, value] : repo.config_matching("^remote\\..*\\.url$")) {
    const std::string name = key.substr(7, key.size() - 7 - 4);
    by_name[name] = remote_settings(repo, name);
  }
  std::vector<RemoteSettings> out;
  for (auto& [n, s] : by_name) out.push_back(std::move(s));
  return out;
}

RemoteSettings remote_settings(const Repo& repo, const std::string& name) {
  const std::string base = "remote." + name + ".";
  auto url = repo.config(base + "url");
  if (!url)
    fail(ErrorCode::kNotFound,
         "no remote named '" + name + "'; add one with 'kura remote add " + name + " URL'");
  RemoteSettings s;
  s.name = name;
  s.url = *url;  // as stored: an older kura may have kept a password here; show it through redact_url
  if (auto v = repo.config(base + "endpoint")) s.endpoint = *v;
  if (auto v = repo.config(base + "region")) s.region = *v;
  if (auto v = repo.config(base + "connections")) {
    try {
      s.connections = static_cast<unsigned>(std::stoul(*v));
    } catch (const std::exception&) {
      fail(ErrorCode::kInvalidInput,
           "config " + base + "connections: '" + *v + "' is not a number");
    }
  }
  if (auto v = repo.config(base + "multipart-threshold"))
    s.multipart_threshold = parse_size(base + "multipart-threshold", *v);
  if (auto v = repo.config(base + "part-size")) s.part_size = parse_size(base + "part-size", *v);
  if (auto v = repo.config(base + "connect-timeout")) s.connect_timeout = std::stod(*v);
  return s;
}

RemoteSettings add_remote(Repo& repo, const std::string& name, const std::string& url, const std::string& endpoint) {
  if (!valid_name(name))
    fail(ErrorCode::kInvalidInput,
         "'" + name + "' is not a valid remote name (letters, digits, . _ -)");
  if (repo.config("remote." + name + ".url"))
    fail(ErrorCode::kConflict, "remote '" + name + "' already exists");
  if (url.empty()) fail(ErrorCode::kInvalidInput, "empty remote URL");
  refuse_userinfo(url, "the remote URL");
  refuse_userinfo(endpoint, "the endpoint");
  if (url.find("://") != std::string::npos && url.rfind("s3://", 0) != 0 &&
      url.rfind("file://", 0) != 0)
    fail(ErrorCode::kInvalidInput,
         "'" + redact_url(url) + "': a remote is a folder path, file://PATH or s3://BUCKET/PREFIX");
  RemoteSettings s;
  s.name = name;
  s.url = url;
  if (!endpoint.empty()) {
    s.endpoint = endpoint;
    s.endpoint_from = "--endpoint";
  }
  if (url.rfind("s3://", 0) == 0) {
    const std::string bucket = url.substr(
        5, url.find('/', 5) == std::string::npos ? std::string::npos : url.find('/', 5) - 5);
    if (bucket.size() < 3)
      fail(ErrorCode::kInvalidInput, "'" + redact_url(url) + "': an S3 bucket name has at least 3 characters");
    for (const char* var : {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
      const char* v = std::getenv(var);
      if (!s.endpoint.empty() || v == nullptr || *v == '\0') continue;
      refuse_userinfo(v, var);
      s.endpoint = v;
      s.endpoint_from = var;
    }
  }
  s.url = url.find("://") == std::string::npos ? std::filesystem::absolute(url).lexically_normal().string() : url;
  repo.set_config("remote." + name + ".url", s.url);
  if (!s.endpoint.empty()) repo.set_config("remote." + name + ".endpoint", s.endpoint);
  return s;
}

void remove_remote(Repo& repo, const std::string& name) {
  std::ignore = remote_settings(repo, name);  // Error(kNotFound) when absent
  for (const auto& [ref, target] : repo.refs())
    if (ref.rfind("refs/remotes/" + name + "/", 0) == 0) repo.delete_ref(ref);
  for (const auto& [key, value] : repo.config_matching("^remote\\." + name + "\\."))
    repo.unset_config(key);
  if (repo.config("kura.promisor") == name) repo.unset_config("kura.promisor");
}

namespace remote {

std::unique_ptr<Backend> open_backend(const RemoteSettings& s) {
  // A URL an older kura stored with a password: refused, not used and never shown.
  refuse_userinfo(s.url, "the URL of remote '" + s.name + "'");
  if (s.url.rfind("s3://", 0) == 0) return open_s3_backend(s);
  const bool file = s.url.rfind("file://", 0) == 0;
  if (!file && s.url.find("://") != std::string::npos)
    fail(ErrorCode::kInvalidInput,
         "'" + redact_url(s.url) + "': a remote is a folder path, file://PATH or s3://BUCKET/PREFIX");
  const std::string path = file ? s.url.substr(7) : s.url;
  // A folder holding .kura/ is somebody's working repository, not a remote's layout.
  std::error_code ec;
  if (std::filesystem::is_directory(std::filesystem::path(path) / ".kura", ec))
    return open_repo_backend(redact_url(s.url), path);
  return open_folder_backend(redact_url(s.url), path, s.connections);
}

std::string object_key(const ObjectId& id) {
  const std::string hex = id.hex();
  return "objects/" + hex.substr(0, 2) + "/" + hex;
}

std::string pack_key(const ObjectId& pack_id) { return "packs/" + pack_id.hex(); }

std::string encode_pack(const std::vector<GitObject>& objects) {
  std::string out = "KURAPACK1\n";
  for (const auto& o : objects) {
    out.append(git_id_raw(o.id));
    out.push_back(static_cast<char>(o.type));
    const uint64_t n = o.data.size();
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(n >> (8 * i)));
    out.append(o.data);
  }
  return out;
}

std::optional<std::vector<GitObject>> decode_pack(std::string_view bytes) {
  constexpr std::string_view kMagic = "KURAPACK1\n";
  constexpr size_t kIdSize = 20;
  if (bytes.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  std::vector<GitObject> out;
  size_t pos = kMagic.size();
  while (pos < bytes.size()) {
    if (bytes.size() - pos < kIdSize + 9) return std::nullopt;
    GitObject o;
    o.id = git_id_hex(bytes.substr(pos, kIdSize));
    o.type = static_cast<uint8_t>(bytes[pos + kIdSize]);
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= uint64_t(uint8_t(bytes[pos + kIdSize + 1 + i])) << (8 * i);
    pos += kIdSize + 9;
    if (n > bytes.size() - pos) return std::nullopt;
    o.data.assign(bytes.substr(pos, n));
    pos += n;
    if (!git_object_matches(o)) return std::nullopt;  // also refuses an unknown type
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace remote
}  // namespace kura
