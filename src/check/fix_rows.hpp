// Where the strings of a JSONL line lie in its text, so that kura fix can
// replace one string (a data URL, an image path) and keep every other byte.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace kura::check {

// A JSON string value in a line's text: [begin, end) holds it, quotes included.
struct StringSpot {
  size_t begin = 0, end = 0;
};

// A JSONL line parsed, with each string value's place in the text by its
// JSON pointer ("/messages/0/content/1/image_url/url").
struct LocatedLine {
  nlohmann::ordered_json json;
  std::map<std::string, StringSpot> strings;
};

// Parses `line`; nullopt, with the reason in `why`, when it is not valid
// JSON, is nested deeper than the checks accept, or has an object with the
// same key twice (whose strings could not be told apart).
std::optional<LocatedLine> locate_strings(std::string_view line, std::string* why);

// The JSON text of `value` as a string literal, quotes included (only the
// characters JSON requires are escaped, as nlohmann::json writes them).
std::string json_string(const std::string& value);

}  // namespace kura::check
