#include "util/base64.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace kura {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Two output characters for every 12-bit value, in memory order.
struct PairTable {
  std::array<char, 2 * 4096> pairs{};
  constexpr PairTable() {
    for (int v = 0; v < 4096; ++v) {
      pairs[2 * v] = kAlphabet[v >> 6];
      pairs[2 * v + 1] = kAlphabet[v & 63];
    }
  }
};
constexpr PairTable kPairs;

}  // namespace

void base64_append(std::string_view bytes, std::string& out) {
  const size_t at = out.size();
  out.resize(at + base64_size(bytes.size()));
  char* o = out.data() + at;
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t whole = bytes.size() / 3 * 3;
  for (size_t i = 0; i < whole; i += 3, o += 4) {
    const uint32_t v = uint32_t(in[i]) << 16 | uint32_t(in[i + 1]) << 8 | in[i + 2];
    std::memcpy(o, &kPairs.pairs[2 * (v >> 12)], 2);
    std::memcpy(o + 2, &kPairs.pairs[2 * (v & 0xfff)], 2);
  }
  const size_t rest = bytes.size() - whole;
  if (rest) {
    const uint32_t v = uint32_t(in[whole]) << 16 | (rest == 2 ? uint32_t(in[whole + 1]) << 8 : 0);
    o[0] = kAlphabet[v >> 18];
    o[1] = kAlphabet[(v >> 12) & 63];
    o[2] = rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    o[3] = '=';
  }
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  base64_append(bytes, out);
  return out;
}

std::optional<std::string> base64_decode_canonical(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > (1u << 30)) return std::nullopt;
  size_t pad = 0;
  if (text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  for (size_t i = 0; i < text.size() - pad; ++i) {
    char c = text[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/';
    if (!ok) return std::nullopt;
  }
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);
  // Non-zero bits in the last symbol before the padding would decode to the
  // same bytes as the canonical form: reject them so the round trip is exact.
  if (base64_encode(out) != text) return std::nullopt;
  return out;
}

}  // namespace kura
