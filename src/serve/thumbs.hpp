// Thumbnails kept in memory by (object id, size), least recently used out
// first, within a byte budget. Objects never change, so an entry never goes
// stale. Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "kura/image_facts.hpp"
#include "kura/object_id.hpp"

namespace kura::serve {

class ThumbCache {
 public:
  explicit ThumbCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  std::shared_ptr<const Thumbnail> get(const ObjectId& id, int size);
  // Keeps `thumb` unless it alone is larger than the budget.
  void put(const ObjectId& id, int size, std::shared_ptr<const Thumbnail> thumb);
  size_t bytes() const;

 private:
  using Key = std::pair<ObjectId, int>;
  using Entry = std::pair<Key, std::shared_ptr<const Thumbnail>>;
  mutable std::mutex mutex_;
  size_t max_bytes_, bytes_ = 0;
  std::list<Entry> lru_;  // most recent first
  std::map<Key, std::list<Entry>::iterator> index_;
};

}  // namespace kura::serve
