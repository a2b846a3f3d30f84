// Little binary helpers for kura's object formats (docs/architecture.md):
// LEB128 varints, fixed-width ids, and a bounds-checked reader.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kura/error.hpp"
#include "kura/object_id.hpp"

namespace kura {

inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline void put_id(std::string& out, const ObjectId& id) { out.append(id.raw()); }

// Reads a value encoded by the put_* helpers; any overrun throws
// Error(kCorrupt) naming the object being decoded.
class Reader {
 public:
  Reader(std::string_view data, std::string what) : data_(data), what_(std::move(what)) {}
  // Lazy descriptions for hot paths: the message is only built on failure.
  // `name` and `id` must outlive the reader.
  Reader(std::string_view data, const char* kind, std::string_view name)
      : data_(data), kind_(kind), name_(name) {}
  Reader(std::string_view data, const char* kind, const ObjectId& id) : data_(data), kind_(kind), id_(&id) {}
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (data_.empty()) corrupt();
      uint8_t b = static_cast<uint8_t>(data_.front());
      data_.remove_prefix(1);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    corrupt();
  }
  ObjectId id() { return *ObjectId::from_raw(take(ObjectId::kSize)); }
  uint8_t byte() { return static_cast<uint8_t>(take(1)[0]); }
  std::string_view take(size_t n) {
    if (data_.size() < n) corrupt();
    auto out = data_.substr(0, n);
    data_.remove_prefix(n);
    return out;
  }
  std::string_view rest() const { return data_; }
  bool done() const { return data_.empty(); }
  [[noreturn]] void corrupt() const {
    std::string what = what_;
    if (kind_) what = std::string(kind_) + (id_ ? id_->hex() : std::string(name_));
    fail(ErrorCode::kCorrupt, what + " is truncated or malformed; run 'kura fsck'");
  }

 private:
  std::string_view data_;
  std::string what_;
  const char* kind_ = nullptr;
  std::string_view name_;
  const ObjectId* id_ = nullptr;
};

}  // namespace kura
