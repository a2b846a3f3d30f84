#include "check/fix_rows.hpp"

#include <set>
#include <vector>

namespace kura::check {

namespace {

using ojson = nlohmann::ordered_json;
constexpr size_t kMaxDepth = 64;  // as the row checks (row_check.cpp)

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The end of the string literal starting at `i` (a '"'): one past its
// closing quote, or npos when the line ends inside it.
size_t string_end(std::string_view text, size_t i) {
  for (size_t j = i + 1; j < text.size(); ++j) {
    if (text[j] == '\\') ++j;
    else if (text[j] == '"') return j + 1;
  }
  return std::string_view::npos;
}

std::string pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

// The string values of `j` in document order (nlohmann's ordered_json keeps
// the keys in the order of the text), by pointer.
void string_pointers(const ojson& j, const std::string& ptr, std::vector<std::string>& out) {
  if (j.is_string()) {
    out.push_back(ptr);
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) string_pointers(it.value(), ptr + "/" + pointer_token(it.key()), out);
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) string_pointers(j[i], ptr + "/" + std::to_string(i), out);
  }
}

}  // namespace

std::optional<LocatedLine> locate_strings(std::string_view line, std::string* why) {
  // One pass over the text: string values in order, and each object's keys
  // (decoded) to refuse duplicates, which the parser would merge.
  std::vector<StringSpot> values;
  std::vector<std::optional<std::set<std::string>>> open;  // per level: an object's keys, or nullopt (an array)
  for (size_t i = 0; i < line.size();) {
    const char c = line[i];
    if (c == '"') {
      const size_t end = string_end(line, i);
      if (end == std::string_view::npos) break;  // the parser says what is wrong
      size_t next = end;
      while (next < line.size() && space(line[next])) ++next;
      if (next < line.size() && line[next] == ':') {
        if (!open.empty() && open.back()) {
          std::string key;
          try {
            key = ojson::parse(line.substr(i, end - i)).get<std::string>();
          } catch (const nlohmann::json::exception&) {
            break;
          }
          if (!open.back()->insert(key).second) {
            *why = "an object has the key " + json_string(key) + " twice";
            return std::nullopt;
          }
        }
      } else {
        values.push_back({i, end});
      }
      i = end;
      continue;
    }
    if (c == '{') open.emplace_back(std::set<std::string>{});
    else if (c == '[') open.emplace_back(std::nullopt);
    else if ((c == '}' || c == ']') && !open.empty()) open.pop_back();
    if (open.size() > kMaxDepth) {
      *why = "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels";
      return std::nullopt;
    }
    ++i;
  }
  LocatedLine out;
  try {
    out.json = ojson::parse(line);
  } catch (const nlohmann::json::exception&) {
    *why = "not valid JSON";
    return std::nullopt;
  }
  std::vector<std::string> pointers;
  string_pointers(out.json, "", pointers);
  if (pointers.size() != values.size()) {
    *why = "its strings could not be matched to its text";
    return std::nullopt;
  }
  for (size_t k = 0; k < pointers.size(); ++k) out.strings.emplace(pointers[k], values[k]);
  return out;
}

std::string json_string(const std::string& value) { return ojson(value).dump(); }

}  // namespace kura::check
