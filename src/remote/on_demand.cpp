// On-demand fetching for partial clones: the ObjectSource a repository with
// a promisor remote (config kura.promisor) asks for kura objects it lacks
// (it has every git object: packs come whole). The
// backend is opened at the first miss, so commands that find everything
// locally never touch the network or need credentials.
#include <mutex>

#include "kura/error.hpp"
#include "remote/transfer.hpp"

namespace kura::remote {

namespace {

constexpr int kAttempts = 3;

class RemoteSource final : public ObjectSource {
 public:
  explicit RemoteSource(RemoteSettings settings) : settings_(std::move(settings)) {}

  std::optional<std::string> fetch_object(const ObjectId& id) override {
    return fetch(object_key(id), "object " + id.hex(),
                 [&](const std::string& b) { return sha256(b) == id; });
  }

  std::vector<GitObject> git_objects() override {
    Backend& b = backend();
    std::vector<std::string> keys;
    b.list("packs/", [&](const std::string& key) { keys.push_back(key); });
    std::vector<GitObject> out;
    for (const auto& key : keys) {
      auto id = ObjectId::from_hex(key.substr(key.find('/') + 1));
      if (!id) continue;
      std::optional<std::vector<GitObject>> objects;
      fetch(key, "pack " + id->hex(), [&](const std::string& bytes) {
        if (sha256(bytes) != *id) return false;
        objects = decode_pack(bytes);  // checks every object against its git id
        return objects.has_value();
      });
      if (objects) out.insert(out.end(), objects->begin(), objects->end());
    }
    return out;
  }

 private:
  Backend& backend() {
    std::lock_guard<std::mutex> guard(mutex_);
    if (!backend_) backend_ = open_backend(settings_);
    return *backend_;
  }

  std::optional<std::string> fetch(const std::string& key, const std::string& what,
                                   const std::function<bool(const std::string&)>& ok) {
    Backend& b = backend();
    for (int attempt = 1;; ++attempt) {
      auto v = b.get(key);
      if (!v || ok(*v)) return v;
      if (attempt == kAttempts)
        fail(ErrorCode::kCorrupt, what + " on " + b.url() + " does not match its hash (fetched " +
                                      std::to_string(kAttempts) +
                                      " times); the remote copy is damaged");
    }
  }

  RemoteSettings settings_;
  std::mutex mutex_;
  std::unique_ptr<Backend> backend_;
};

}  // namespace

}  // namespace kura::remote

namespace kura {

std::shared_ptr<ObjectSource> remote_object_source(const Repo& repo, const std::string& name) {
  return std::make_shared<remote::RemoteSource>(remote_settings(repo, name));
}

void enable_on_demand_fetch() {
  set_object_source_factory([](Repo& repo) -> std::shared_ptr<ObjectSource> {
    auto name = repo.config("kura.promisor");
    if (!name) return nullptr;
    try {
      return std::make_shared<remote::RemoteSource>(remote_settings(repo, *name));
    } catch (const Error& e) {
      // The promisor remote was removed by hand: every command still works on
      // what is here; reading a missing object then says it is missing.
      if (e.code() != ErrorCode::kNotFound) throw;
      return nullptr;
    }
  });
}

}  // namespace kura
