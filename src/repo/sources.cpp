// On-demand objects for partial clones: the store's missing-object hook asks
// the repository's ObjectSource. What arrives is verified by the source and
// stored when the store is writable; a read-only command (show) keeps it in
// memory only.
#include <atomic>
#include <mutex>

#include "kura/error.hpp"
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
    slot->writable = I.store->writable();
    I.store->set_missing_object_fn([slot](const ObjectId& id) -> std::optional<std::string> {
      auto source = slot->get();
      if (!source) return std::nullopt;
      auto bytes = source->fetch_object(id);
      if (bytes && slot->writable) slot->store->put_object(id, *bytes);  // read-only: from memory
      return bytes;
    });
    I.source_slot = slot;
  }
  std::lock_guard<std::mutex> guard(I.source_slot->mutex);
  I.source_slot->source = std::move(source);
}

}  // namespace kura
