#include "kura/object_id.hpp"

#include <openssl/evp.h>

#include <cassert>

namespace kura {

namespace {
constexpr char kHex[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string ObjectId::hex() const {
  std::string out(kSize * 2, '0');
  for (size_t i = 0; i < kSize; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return out;
}

bool ObjectId::is_zero() const {
  for (uint8_t b : bytes)
    if (b) return false;
  return true;
}

std::optional<ObjectId> ObjectId::from_hex(std::string_view hex) {
  if (hex.size() != kSize * 2) return std::nullopt;
  ObjectId id;
  for (size_t i = 0; i < kSize; ++i) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return id;
}

std::optional<ObjectId> ObjectId::from_raw(std::string_view raw) {
  if (raw.size() != kSize) return std::nullopt;
  ObjectId id;
  __builtin_memcpy(id.bytes.data(), raw.data(), kSize);
  return id;
}

struct Sha256::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  // Only allocation failure can make these fail: a programming-level fault.
  [[maybe_unused]] int ok = EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
  assert(ok == 1);
}

Sha256::Sha256(const Sha256& other) : impl_(std::make_unique<Impl>()) {
  [[maybe_unused]] int ok = EVP_MD_CTX_copy_ex(impl_->ctx, other.impl_->ctx);
  assert(ok == 1);
}

Sha256& Sha256::operator=(const Sha256& other) {
  if (this != &other) *this = Sha256(other);
  return *this;
}

Sha256::Sha256(Sha256&& other) noexcept = default;
Sha256& Sha256::operator=(Sha256&& other) noexcept = default;
Sha256::~Sha256() = default;

void Sha256::update(std::string_view data) {
  EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}

ObjectId Sha256::finish() {
  ObjectId id;
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, id.bytes.data(), &len);
  assert(len == ObjectId::kSize);
  return id;
}

ObjectId sha256(std::string_view data) {
  ObjectId id;
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), id.bytes.data(), &len, EVP_sha256(), nullptr);
  return id;
}

}  // namespace kura
