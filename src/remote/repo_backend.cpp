// A working repository as a remote to fetch and clone from (git's "clone a
// colleague's folder"): the remote layout (docs/remotes.md) read straight
// from its .kura/, which is opened read-only without taking its lock, so the
// colleague can go on working. Its local branches are the remote's
// branches, its current branch is the remote's HEAD, and all its git objects
// form one pack named by its SHA-256. Writing to it is refused: a working
// repository's branches are its owner's.
#include <filesystem>
#include <map>
#include <mutex>

#include "kura/error.hpp"
#include "kura/object_id.hpp"
#include "kura/repo.hpp"
#include "remote/backend.hpp"

namespace kura::remote {

namespace fs = std::filesystem;

namespace {

class RepoBackend final : public Backend {
 public:
  RepoBackend(std::string url, const fs::path& root) : url_(std::move(url)) {
    OpenOptions o;
    o.access = Access::kReadOnly;
    o.lock = false;
    o.command = "kura fetch (reading this repository as a remote)";
    repo_ = Repo::open(root, o);
    for (const auto& [name, target] : repo_->refs())
      if (name.rfind("refs/heads/", 0) == 0 || name.rfind("refs/tags/", 0) == 0) refs_[name] = target;
    head_ = repo_->head_ref();
  }

  const std::string& url() const override { return url_; }
  unsigned connections() const override { return 4; }

  std::optional<std::string> get(const std::string& key) override {
    ++counters_.requests;
    std::optional<std::string> out;
    if (key == "HEAD") {
      if (head_.rfind("refs/heads/", 0) == 0 && refs_.count(head_)) out = "ref: " + head_ + "\n";
    } else if (key.rfind("refs/", 0) == 0) {
      auto it = refs_.find(key);
      if (it != refs_.end()) out = it->second + "\n";
    } else if (key.rfind("packs/", 0) == 0) {
      std::lock_guard<std::mutex> hold(mu_);
      build_pack();
      if (key == pack_key_) out = pack_;
    } else if (auto id = object_of(key)) {
      out = repo_->store().get_object(*id);
    }
    if (out) counters_.bytes_down += out->size();
    return out;
  }

  bool exists(const std::string& key) override {
    if (auto id = object_of(key)) return repo_->store().has_object(*id);
    return get(key).has_value();
  }

  void list(const std::string& prefix, const std::function<void(const std::string& key)>& fn) override {
    ++counters_.requests;
    if (std::string("refs/").rfind(prefix, 0) == 0 || prefix.rfind("refs/", 0) == 0) {
      for (const auto& [name, target] : refs_)
        if (name.rfind(prefix, 0) == 0) fn(name);
    }
    if (std::string("packs/").rfind(prefix, 0) == 0 || prefix.rfind("packs/", 0) == 0) {
      std::lock_guard<std::mutex> hold(mu_);
      build_pack();
      if (!pack_key_.empty() && pack_key_.rfind(prefix, 0) == 0) fn(pack_key_);
    }
    if (std::string("objects/").rfind(prefix, 0) == 0 || prefix.rfind("objects/", 0) == 0) {
      repo_->store().for_each_object_id([&](const ObjectId& id, int64_t) {
        const std::string k = object_key(id);
        if (k.rfind(prefix, 0) == 0) fn(k);
        return true;
      });
    }
  }

  Versioned get_versioned(const std::string& key) override {
    Versioned v;
    v.value = get(key);
    v.version = v.value.value_or("");
    return v;
  }

  void put(const std::string&, std::string_view, const ObjectId*) override { refuse(); }
  void remove(const std::string&) override { refuse(); }
  bool put_if(const std::string&, std::string_view, const std::string&) override { refuse(); }
  void prepare_for_writes() override { refuse(); }

 private:
  [[noreturn]] void refuse() const {
    fail(ErrorCode::kInvalidInput, "'" + url_ +
                                       "' is a working repository, whose branches are its owner's: kura fetches "
                                       "and clones from it but does not push to it; push to a folder or S3 remote "
                                       "that both of you use, or let its owner pull from you");
  }

  static std::optional<ObjectId> object_of(const std::string& key) {
    // "objects/ab/<64 hex>"
    if (key.size() != 8 + 3 + 64 || key.rfind("objects/", 0) != 0) return std::nullopt;
    return ObjectId::from_hex(key.substr(11));
  }

  // One pack of every git object the branches and tags reach.
  void build_pack() {
    if (built_) return;
    built_ = true;
    std::vector<std::string> want;
    for (const auto& [name, target] : refs_) want.push_back(target);
    if (want.empty()) return;
    const ObjectClosure closure = repo_->closure(want, {});
    std::vector<GitObject> objects;
    objects.reserve(closure.git_objects.size());
    for (const auto& id : closure.git_objects) {
      auto o = repo_->read_git_object(id);
      if (!o) fail(ErrorCode::kCorrupt, "'" + url_ + "' lacks git object " + id + " that its branches need; run 'kura fsck' there");
      objects.push_back(std::move(*o));
    }
    pack_ = encode_pack(objects);
    pack_key_ = pack_key(sha256(pack_));
  }

  std::string url_;
  std::unique_ptr<Repo> repo_;
  std::map<std::string, std::string> refs_;
  std::string head_;
  std::mutex mu_;
  bool built_ = false;
  std::string pack_, pack_key_;
};

}  // namespace

std::unique_ptr<Backend> open_repo_backend(const std::string& url, const std::string& path) {
  return std::make_unique<RepoBackend>(url, path);
}

}  // namespace kura::remote
