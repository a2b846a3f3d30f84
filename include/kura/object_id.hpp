// ObjectId names an immutable object by the SHA-256 of its bytes. Every piece
// of content kura stores (a media file, a JSONL row, a row manifest) is named
// this way, so identical content is stored once whatever its path.
//
// Sha256 is a streaming hasher (OpenSSL, which uses the CPU's SHA extensions).
// Both types are values, safe to use from any thread (one object from one
// thread at a time); an ObjectId is cheap to copy, a Sha256 copies its state.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace kura {

struct ObjectId {
  static constexpr size_t kSize = 32;
  std::array<uint8_t, kSize> bytes{};

  // Lower-case hex, 64 characters.
  std::string hex() const;
  // The first `n` hex characters, for display.
  std::string short_hex(size_t n = 12) const { return hex().substr(0, n); }
  // The raw 32 bytes, as a key for the store.
  std::string_view raw() const {
    return {reinterpret_cast<const char*>(bytes.data()), kSize};
  }
  bool is_zero() const;

  // Parses exactly 64 hex characters; nullopt otherwise.
  static std::optional<ObjectId> from_hex(std::string_view hex);
  // Interprets 32 raw bytes (a store key); nullopt when the size is wrong.
  static std::optional<ObjectId> from_raw(std::string_view raw);

  friend bool operator==(const ObjectId&, const ObjectId&) = default;
  friend auto operator<=>(const ObjectId&, const ObjectId&) = default;
};

struct ObjectIdHash {
  size_t operator()(const ObjectId& id) const noexcept {
    size_t h;
    static_assert(sizeof h <= ObjectId::kSize);
    __builtin_memcpy(&h, id.bytes.data(), sizeof h);
    return h;
  }
};

// SHA-256 of `data` in one call.
ObjectId sha256(std::string_view data);

// Incremental SHA-256: update() any number of times, then finish() once.
// A copy carries the state so far and goes on independently: hashing a stream
// once and also a prefix of it, or the same prefix followed by other bytes,
// costs one pass over the shared prefix (the export's TableHash does this).
// A moved-from Sha256 may only be assigned to or destroyed.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256& other);
  Sha256& operator=(const Sha256& other);
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  void update(std::string_view data);
  ObjectId finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kura
