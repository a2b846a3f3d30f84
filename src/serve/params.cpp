#include "serve/params.hpp"

#include <cctype>

#include "kura/error.hpp"

namespace kura::serve {

namespace {

[[noreturn]] void refuse(const std::string& name, const std::string& value, const std::string& why) {
  std::string shown = value.size() > 80 ? value.substr(0, 80) + "..." : value;
  for (char& c : shown)
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  fail(ErrorCode::kInvalidInput, "parameter '" + name + "' ('" + shown + "') " + why);
}

}  // namespace

std::string check_rev(const std::string& name, const std::string& value, const std::string& fallback) {
  if (value.empty()) return fallback;
  if (value.size() > 200) refuse(name, value, "is longer than 200 characters");
  for (char c : value) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '/' || c == '~' ||
                    c == '^' || c == '-' || c == '@';
    if (!ok) refuse(name, value, "may hold only letters, digits and . _ / ~ ^ - @");
  }
  if (value.find("..") != std::string::npos) refuse(name, value, "must not contain '..'");
  if (value.front() == '-' || value.front() == '/') refuse(name, value, "must not start with '-' or '/'");
  return value;
}

std::string check_path(const std::string& name, const std::string& value, bool allow_empty) {
  if (value.empty()) {
    if (allow_empty) return value;
    refuse(name, value, "is empty; name a file of the commit");
  }
  if (value.size() > 4096) refuse(name, value, "is longer than 4096 bytes");
  if (value.front() == '/') refuse(name, value, "must be relative to the top of the repository");
  if (value.find('\\') != std::string::npos || value.find('\0') != std::string::npos)
    refuse(name, value, "must not contain a backslash or NUL");
  size_t start = 0;
  while (start <= value.size()) {
    size_t slash = value.find('/', start);
    if (slash == std::string::npos) slash = value.size();
    const std::string part = value.substr(start, slash - start);
    if (part.empty()) refuse(name, value, "has an empty component ('//' or a trailing '/')");
    if (part == "." || part == "..") refuse(name, value, "must not have a '" + part + "' component");
    start = slash + 1;
  }
  return value;
}

ObjectId check_id(const std::string& name, const std::string& value) {
  std::string lower = value;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto id = ObjectId::from_hex(lower);
  if (!id) refuse(name, value, "is not an object id (64 hex digits)");
  return *id;
}

uint64_t check_number(const std::string& name, const std::string& value, uint64_t fallback, uint64_t min,
                      uint64_t max) {
  if (value.empty()) return fallback;
  if (value.size() > 19) refuse(name, value, "is too large");
  uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') refuse(name, value, "is not a whole number");
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n < min || n > max)
    refuse(name, value, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return n;
}

}  // namespace kura::serve
