// The stable JSON form of a check report (docs/checks.md).
#include "check/row_check.hpp"
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
