// Remote settings in the repository's git config, the key layout on a
// remote, and choosing a backend by URL.
#include <git2.h>

#include <regex>

#include "kura/error.hpp"
#include "remote/backend.hpp"

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
    double mult = unit.empty() || unit == "B" ? 1 : unit == "K" || unit == "KiB" ? 1024.0
                : unit == "M" || unit == "MiB" ? 1048576.0 : unit == "G" || unit == "GiB" ? 1073741824.0 : -1;
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
  if (!url) fail(ErrorCode::kNotFound, "no remote named '" + name + "'; add one with 'kura remote add " + name + " URL'");
  RemoteSettings s;
  s.name = name;
  s.url = *url;
  if (auto v = repo.config(base + "endpoint")) s.endpoint = *v;
  if (auto v = repo.config(base + "region")) s.region = *v;
  if (auto v = repo.config(base + "connections")) {
    try {
      s.connections = static_cast<unsigned>(std::stoul(*v));
    } catch (const std::exception&) {
      fail(ErrorCode::kInvalidInput, "config " + base + "connections: '" + *v + "' is not a number");
    }
  }
  if (auto v = repo.config(base + "multipart-threshold")) s.multipart_threshold = parse_size(base + "multipart-threshold", *v);
  if (auto v = repo.config(base + "part-size")) s.part_size = parse_size(base + "part-size", *v);
  if (auto v = repo.config(base + "connect-timeout")) s.connect_timeout = std::stod(*v);
  return s;
}

void add_remote(Repo& repo, const std::string& name, const std::string& url) {
  if (!valid_name(name)) fail(ErrorCode::kInvalidInput, "'" + name + "' is not a valid remote name (letters, digits, . _ -)");
  if (repo.config("remote." + name + ".url")) fail(ErrorCode::kConflict, "remote '" + name + "' already exists");
  if (url.empty()) fail(ErrorCode::kInvalidInput, "empty remote URL");
  if (url.find("://") != std::string::npos && url.rfind("s3://", 0) != 0 && url.rfind("file://", 0) != 0)
    fail(ErrorCode::kInvalidInput, "'" + url + "': a remote is a folder path, file://PATH or s3://BUCKET/PREFIX");
  RemoteSettings s;
  s.name = name;
  s.url = url;
  if (url.rfind("s3://", 0) == 0) {
    const std::string bucket = url.substr(5, url.find('/', 5) == std::string::npos ? std::string::npos : url.find('/', 5) - 5);
    if (bucket.size() < 3) fail(ErrorCode::kInvalidInput, "'" + url + "': an S3 bucket name has at least 3 characters");
  }
  std::string stored = url;
  if (url.find("://") == std::string::npos) stored = std::filesystem::absolute(url).lexically_normal().string();
  repo.set_config("remote." + name + ".url", stored);
}

void remove_remote(Repo& repo, const std::string& name) {
  std::ignore = remote_settings(repo, name);  // Error(kNotFound) when absent
  for (const auto& [ref, target] : repo.refs())
    if (ref.rfind("refs/remotes/" + name + "/", 0) == 0) repo.delete_ref(ref);
  for (const auto& [key, value] : repo.config_matching("^remote\\." + name + "\\.")) repo.unset_config(key);
  if (repo.config("kura.promisor") == name) repo.unset_config("kura.promisor");
}

namespace remote {

std::unique_ptr<Backend> open_backend(const RemoteSettings& s) {
  if (s.url.rfind("s3://", 0) == 0) return open_s3_backend(s);
  if (s.url.rfind("file://", 0) == 0) return open_folder_backend(s.url, s.url.substr(7), s.connections);
  if (s.url.find("://") != std::string::npos)
    fail(ErrorCode::kInvalidInput, "'" + s.url + "': a remote is a folder path, file://PATH or s3://BUCKET/PREFIX");
  return open_folder_backend(s.url, s.url, s.connections);
}

std::string object_key(const ObjectId& id) {
  const std::string hex = id.hex();
  return "objects/" + hex.substr(0, 2) + "/" + hex;
}

std::string git_key(const std::string& hex) { return "git/" + hex.substr(0, 2) + "/" + hex; }

std::string encode_git_object(int type, std::string_view data) {
  std::string out = git_object_type2string(git_object_t(type));
  out += " " + std::to_string(data.size());
  out.push_back('\0');
  out.append(data);
  return out;
}

std::optional<GitObject> decode_git_object(const std::string& hex, std::string_view bytes) {
  const size_t space = bytes.find(' '), nul = bytes.find('\0');
  if (space == std::string_view::npos || nul == std::string_view::npos || space > nul) return std::nullopt;
  git_object_t type = git_object_string2type(std::string(bytes.substr(0, space)).c_str());
  if (type < GIT_OBJECT_COMMIT || type > GIT_OBJECT_TAG) return std::nullopt;
  if (std::string(bytes.substr(space + 1, nul - space - 1)) != std::to_string(bytes.size() - nul - 1)) return std::nullopt;
  std::string_view data = bytes.substr(nul + 1);
  git_oid expected, actual;
  if (git_oid_fromstrn(&expected, hex.data(), hex.size()) < 0) return std::nullopt;
  if (git_odb_hash(&actual, data.data(), data.size(), type) < 0 || !git_oid_equal(&actual, &expected)) return std::nullopt;
  return GitObject{hex, static_cast<int>(type), std::string(data)};
}

}  // namespace remote
}  // namespace kura
