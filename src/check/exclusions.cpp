// kura-exclusions.jsonl: examples and image files a curator left out by hand.
#include <algorithm>
#include <tuple>

#include "check/rules.hpp"
#include "kura/check.hpp"
#include "kura/object_id.hpp"

namespace kura {

namespace {

// Why `path` cannot name a file of the data set, or "".
std::string bad_path(const std::string& path) {
  if (path.empty()) return "is empty";
  if (path.front() == '/') return "is absolute; give it relative to the top of the data set";
  if (path.find('\\') != std::string::npos) return "uses '\\'; separate folders with '/'";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string_view part(path.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return "is not a plain relative path (empty, '.' or '..' part)";
    if (start == 0 && part == ".kura") return "points into .kura/";
    start = end + 1;
  }
  return "";
}

}  // namespace

Exclusions Exclusions::parse(std::string_view text) {
  Exclusions out;
  uint64_t number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank lines are allowed
    auto bad = [&](const std::string& what) {
      Finding f;
      check::make_finding(Policy{}, "curation.bad_exclusion", f);
      f.severity = Severity::kError;
      f.path = kExclusionsFile;
      f.line = number;
      f.message = what;
      out.errors.push_back(std::move(f));
    };
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      bad("not valid JSON; each line is one object {\"path\", \"line\", \"row\", \"reason\"}");
      continue;
    }
    if (!j.is_object()) {
      bad("not a JSON object");
      continue;
    }
    Exclusion e;
    e.source_line = number;
    std::string problem;
    for (auto& [key, value] : j.items()) {
      if (key == "path") {
        if (!value.is_string()) problem = "\"path\" must be a string";
        else if (std::string why = bad_path(value.get<std::string>()); !why.empty()) problem = "\"path\" " + why;
        else e.path = value.get<std::string>();
      } else if (key == "line") {
        if (!value.is_number_unsigned() || value.get<uint64_t>() == 0)
          problem = "\"line\" must be a line number (1 or more)";
        else e.line = value.get<uint64_t>();
      } else if (key == "row") {
        const auto id = value.is_string() ? ObjectId::from_hex(value.get<std::string>()) : std::nullopt;
        if (!id) problem = "\"row\" must be a row id (64 hex digits, as 'kura exclude' writes it)";
        else e.row = id->hex();
      } else if (key == "reason") {
        if (!value.is_string() || value.get<std::string>().empty()) problem = "\"reason\" must be a non-empty string";
        else e.reason = value.get<std::string>();
      } else {
        problem = "\"" + key + "\" is not a field (path, line, row, reason)";
      }
      if (!problem.empty()) break;
    }
    if (problem.empty() && e.path.empty()) problem = "\"path\" is missing";
    if (problem.empty() && e.reason.empty()) problem = "\"reason\" is missing: say why the example is left out";
    if (problem.empty() && !e.row.empty() && e.line == 0) problem = "\"row\" needs the \"line\" it was on";
    if (!problem.empty()) {
      bad(problem);
      continue;
    }
    out.entries.push_back(std::move(e));
  }
  return out;
}

std::string Exclusions::format(std::vector<Exclusion> entries) {
  std::stable_sort(entries.begin(), entries.end(), [](const Exclusion& a, const Exclusion& b) {
    return std::tie(a.path, a.line) < std::tie(b.path, b.line);
  });
  std::string text;
  for (const Exclusion& e : entries) {
    nlohmann::ordered_json j;
    j["path"] = e.path;
    if (e.line) j["line"] = e.line;
    if (!e.row.empty()) j["row"] = e.row;
    j["reason"] = e.reason;
    text += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
  }
  return text;
}

}  // namespace kura
