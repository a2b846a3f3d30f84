// Base64 (RFC 4648, standard alphabet, padded). Decoding is OpenSSL's;
// encoding is kura's own table lookup, 12 bits at a time, because OpenSSL's
// EVP_EncodeBlock (6 bits at a time) was a sixth of 'kura show' of a JSONL
// with inline images: 1.6x faster measured on 186 MB.
// On a CPU with AVX2 it encodes 24 bytes at a time with vector instructions
// (chosen at run time): base64 was 6% of the CPU of 'kura export --format
// openai' of the bench's 248 MB JSONL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kura {

std::string base64_encode(std::string_view bytes);
// Appends the encoding of `bytes` to `out`.
void base64_append(std::string_view bytes, std::string& out);
// The length of the encoding of `n` bytes.
inline size_t base64_size(size_t n) { return 4 * ((n + 2) / 3); }
// Decodes `text` only when it is canonical: standard alphabet, correct
// padding, no whitespace, and re-encoding gives back exactly `text`.
// Anything else gives nullopt (the caller then keeps the text as it is).
std::optional<std::string> base64_decode_canonical(std::string_view text);

}  // namespace kura
