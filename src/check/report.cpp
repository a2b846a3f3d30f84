// The stable JSON form of a check report (docs/checks.md).
#include <algorithm>

#include "check/row_check.hpp"
#include "kura/error.hpp"
#include "kura/check.hpp"

namespace kura {

nlohmann::json CheckReport::to_json() const {
  nlohmann::json findings_json = nlohmann::json::array();
  for (const auto& f : findings) findings_json.push_back(check::finding_to_json(f));
  nlohmann::json excluded_json = nlohmann::json::object();
  for (const auto& [path, lines] : excluded_lines) excluded_json[path] = lines;
  return {{"ok", ok()},
          {"summary",
           {{"files", summary.files},
            {"examples", summary.examples},
            {"images", summary.images},
            {"errors", summary.errors},
            {"warnings", summary.warnings},
            {"infos", summary.infos},
            {"excluded", summary.excluded}}},
          {"findings", findings_json},
          {"excluded_lines", excluded_json}};
}

bool CheckReport::excludes(const std::string& path, uint64_t line) const {
  auto it = excluded_lines.find(path);
  return it != excluded_lines.end() && std::binary_search(it->second.begin(), it->second.end(), line);
}

std::string CheckReport::first_error() const {
  for (const auto& f : findings)
    if (f.severity == Severity::kError)
      return f.path + (f.line ? ":" + std::to_string(f.line) : "") + " " + f.rule + ": " + f.message;
  return "";
}

void CheckReport::refuse_errors(const std::string& commit, const std::string& what) const {
  if (ok()) return;
  fail(ErrorCode::kCheckFailed, "commit " + commit.substr(0, 12) + " has " + std::to_string(summary.errors) +
                                    " check errors (first: " + first_error() + "); fix them and commit, or " + what +
                                    " anyway with --allow-check-errors");
}

CheckReport CheckReport::from_json(const nlohmann::json& j) {
  CheckReport r;
  const auto& s = j.at("summary");
  r.summary.files = s.value("files", uint64_t{0});
  r.summary.examples = s.value("examples", uint64_t{0});
  r.summary.images = s.value("images", uint64_t{0});
  r.summary.errors = s.value("errors", uint64_t{0});
  r.summary.warnings = s.value("warnings", uint64_t{0});
  r.summary.infos = s.value("infos", uint64_t{0});
  r.summary.excluded = s.value("excluded", uint64_t{0});
  for (const auto& f : j.at("findings")) r.findings.push_back(check::finding_from_json(f));
  if (j.contains("excluded_lines"))
    for (auto& [path, lines] : j["excluded_lines"].items()) r.excluded_lines[path] = lines.get<std::vector<uint64_t>>();
  return r;
}

}  // namespace kura
