// On-demand objects for partial clones: a fallback git object-database
// backend and the store's missing-object hook, both asking one ObjectSource.
// What arrives is verified by the source and stored when the store is
// writable; a read-only command (show, log) keeps it in memory only.
#include <git2/sys/odb_backend.h>

#include <cstring>
#include <atomic>
#include <mutex>

#include "kura/error.hpp"
#include "repo/odb_backend.hpp"
#include "repo/repo_impl.hpp"

namespace kura {

struct SourceSlot {
  std::mutex mutex;
  std::shared_ptr<ObjectSource> source;
  Store* store = nullptr;
  std::atomic<bool> writable{true};

  std::shared_ptr<ObjectSource> get() {
    std::lock_guard<std::mutex> guard(mutex);
    return source;
  }
};

namespace {

std::mutex factory_mutex;
ObjectSourceFactory& factory() {
  static ObjectSourceFactory f;
  return f;
}

struct SourceBackend {
  git_odb_backend parent;  // first: libgit2 casts
  std::shared_ptr<SourceSlot> slot;
};

int b_read(void** out, size_t* len, git_object_t* type, git_odb_backend* b, const git_oid* oid) {
  try {
    auto& slot = *reinterpret_cast<SourceBackend*>(b)->slot;
    auto source = slot.get();
    if (!source) return GIT_ENOTFOUND;
    auto obj = source->fetch_git_object(git::hex(*oid));
    if (!obj) return GIT_ENOTFOUND;
    if (slot.writable) {
      try {
        slot.store->put(Table::kGit, git::raw(*oid), encode_git_value(git_object_t(obj->type), obj->data));
      } catch (const Error&) {
        slot.writable = false;  // read-only store: serve from memory from now on
      }
    }
    void* buf = git_odb_backend_data_alloc(b, obj->data.size() + 1);
    if (!buf) return GIT_ERROR;
    std::memcpy(buf, obj->data.data(), obj->data.size());
    static_cast<char*>(buf)[obj->data.size()] = '\0';
    *out = buf;
    *len = obj->data.size();
    *type = git_object_t(obj->type);
    return 0;
  } catch (const std::exception& e) {
    git_error_set_str(GIT_ERROR_ODB, e.what());  // no exception through libgit2's C frames
    return GIT_ERROR;
  }
}

void b_free(git_odb_backend* b) { delete reinterpret_cast<SourceBackend*>(b); }

}  // namespace

void set_object_source_factory(ObjectSourceFactory f) {
  std::lock_guard<std::mutex> guard(factory_mutex);
  factory() = std::move(f);
}

void apply_object_source_factory(Repo& repo) {
  ObjectSourceFactory f;
  {
    std::lock_guard<std::mutex> guard(factory_mutex);
    f = factory();
  }
  if (!f) return;
  if (auto source = f(repo)) repo.set_object_source(std::move(source));
}

void Repo::set_object_source(std::shared_ptr<ObjectSource> source) {
  Impl& I = *impl_;
  if (!I.source_slot) {
    auto slot = std::make_shared<SourceSlot>();
    slot->store = I.store.get();
    slot->writable = I.options.access == Access::kReadWrite;
    auto* backend = new SourceBackend{};
    git::check(git_odb_init_backend(&backend->parent, GIT_ODB_BACKEND_VERSION), "cannot set up the object database");
    backend->slot = slot;
    backend->parent.read = b_read;
    backend->parent.free = b_free;
    git_odb* odb = nullptr;
    git::check(git_repository_odb(&odb, I.git.get()), "cannot open the object database");
    git::Odb owner(odb);
    int rc = git_odb_add_backend(odb, &backend->parent, 1);  // after the store (priority 1000)
    if (rc < 0) delete backend;
    git::check(rc, "cannot attach the object source");
    I.store->set_missing_object_fn([slot](const ObjectId& id) -> std::optional<std::string> {
      auto source = slot->get();
      if (!source) return std::nullopt;
      auto bytes = source->fetch_object(id);
      if (bytes && slot->writable) {
        try {
          slot->store->put_object(id, *bytes);
        } catch (const Error&) {
          slot->writable = false;  // read-only store: serve from memory from now on
        }
      }
      return bytes;
    });
    I.source_slot = slot;
  }
  std::lock_guard<std::mutex> guard(I.source_slot->mutex);
  I.source_slot->source = std::move(source);
}

}  // namespace kura
