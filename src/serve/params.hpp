// Request parameters of the web view, validated before anything is looked
// up: each function returns the value or throws Error(kInvalidInput) with a
// message naming the parameter and what is allowed.
#pragma once

#include <cstdint>
#include <string>

#include "kura/object_id.hpp"

namespace kura::serve {

// A revision: a branch, tag, commit id, HEAD~N, REV^. Letters, digits and
// "._/~^-@" only, at most 200 characters, no ".." (a range, or a climb out
// of refs/); empty gives `fallback`.
std::string check_rev(const std::string& name, const std::string& value, const std::string& fallback = "HEAD");
// A path inside a commit's tree: '/'-separated, relative, no empty, "." or
// ".." component, no backslash or NUL, at most 4096 bytes. `allow_empty`
// admits "" (the top folder).
std::string check_path(const std::string& name, const std::string& value, bool allow_empty);
// An object id: exactly 64 hex digits (either case).
ObjectId check_id(const std::string& name, const std::string& value);
// A decimal integer in [min, max]; empty gives `fallback`.
uint64_t check_number(const std::string& name, const std::string& value, uint64_t fallback, uint64_t min,
                      uint64_t max);

}  // namespace kura::serve
