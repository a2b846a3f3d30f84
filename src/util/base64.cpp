#include "util/base64.hpp"

#include <openssl/evp.h>

#include <immintrin.h>

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

// 24 bytes to 32 characters at a time with AVX2 (Wojciech Mula's and Daniel
// Lemire's method, "Faster Base64 Encoding and Decoding Using AVX2
// Instructions", 2018): each 32-bit lane gets 3 input bytes, multiplies put
// the four 6-bit fields in its four bytes, and one shuffle of offsets maps
// them to the alphabet. Reads 32 bytes from in - 4, so it needs 4 readable
// bytes before `in` and 28 from it; returns the bytes it encoded (a
// multiple of 24), the characters being at `out`.
__attribute__((target("avx2"))) size_t encode_avx2(const unsigned char* in, size_t n, char* out) {
  const __m256i shuffle = _mm256_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1,  //
                                          14, 15, 13, 14, 11, 12, 10, 11, 8, 9, 7, 8, 5, 6, 4, 5);
  const __m256i offsets = _mm256_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0,  //
                                           65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0);
  size_t done = 0;
  for (; done + 28 <= n; done += 24, out += 32) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + done - 4));
    v = _mm256_shuffle_epi8(v, shuffle);
    const __m256i hi = _mm256_mulhi_epu16(_mm256_and_si256(v, _mm256_set1_epi32(0x0fc0fc00)), _mm256_set1_epi32(0x04000040));
    const __m256i lo = _mm256_mullo_epi16(_mm256_and_si256(v, _mm256_set1_epi32(0x003f03f0)), _mm256_set1_epi32(0x01000010));
    v = _mm256_or_si256(hi, lo);  // one 6-bit value a byte
    __m256i index = _mm256_subs_epu8(v, _mm256_set1_epi8(51));
    index = _mm256_sub_epi8(index, _mm256_cmpgt_epi8(v, _mm256_set1_epi8(25)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_add_epi8(v, _mm256_shuffle_epi8(offsets, index)));
  }
  return done;
}

// Read once; __builtin_cpu_init first, as other constructors may not have run.
const bool kHasAvx2 = (__builtin_cpu_init(), __builtin_cpu_supports("avx2"));

}  // namespace

void base64_append(std::string_view bytes, std::string& out) {
  const size_t at = out.size();
  out.resize(at + base64_size(bytes.size()));
  char* o = out.data() + at;
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t whole = bytes.size() / 3 * 3;
  size_t i = 0;
  // The first 6 bytes by table (the vector loop reads 4 bytes before its
  // start), then 24 at a time, then the rest by table.
  if (kHasAvx2 && whole >= 6 + 28) {
    for (; i < 6; i += 3, o += 4) {
      const uint32_t v = uint32_t(in[i]) << 16 | uint32_t(in[i + 1]) << 8 | in[i + 2];
      std::memcpy(o, &kPairs.pairs[2 * (v >> 12)], 2);
      std::memcpy(o + 2, &kPairs.pairs[2 * (v & 0xfff)], 2);
    }
    const size_t done = encode_avx2(in + i, bytes.size() - i, o);
    i += done;
    o += done / 3 * 4;
  }
  for (; i < whole; i += 3, o += 4) {
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
