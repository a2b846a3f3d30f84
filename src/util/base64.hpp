// Base64 (RFC 4648, standard alphabet, padded) via OpenSSL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kura {

std::string base64_encode(std::string_view bytes);
// Decodes `text` only when it is canonical: standard alphabet, correct
// padding, no whitespace, and re-encoding gives back exactly `text`.
// Anything else gives nullopt (the caller then keeps the text as it is).
std::optional<std::string> base64_decode_canonical(std::string_view text);

}  // namespace kura
