#include "serve/thumbs.hpp"

namespace kura::serve {

namespace {
size_t cost(const Thumbnail& t) { return t.bytes.size() + t.error.size() + 128; }
}  // namespace

std::shared_ptr<const Thumbnail> ThumbCache::get(const ObjectId& id, int size) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find({id, size});
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void ThumbCache::put(const ObjectId& id, int size, std::shared_ptr<const Thumbnail> thumb) {
  const size_t c = cost(*thumb);
  if (c > max_bytes_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const Key key{id, size};
  if (index_.count(key)) return;  // another request made it meanwhile
  lru_.emplace_front(key, std::move(thumb));
  index_[key] = lru_.begin();
  bytes_ += c;
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    bytes_ -= cost(*lru_.back().second);
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

size_t ThumbCache::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

}  // namespace kura::serve
