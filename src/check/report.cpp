// A check report as JSON (docs/checks.md), written whole or finding by
// finding, and the compact form stored with each commit.
#include <algorithm>
#include <charconv>

#include "check/report_view.hpp"
#include "check/row_check.hpp"
#include "kura/check.hpp"
#include "kura/error.hpp"

namespace kura {

namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

nlohmann::json summary_json(const CheckSummary& s) {
  return {{"files", s.files},       {"examples", s.examples}, {"images", s.images},    {"errors", s.errors},
          {"warnings", s.warnings}, {"infos", s.infos},       {"excluded", s.excluded}};
}

CheckSummary summary_from(const nlohmann::json& s) {
  CheckSummary r;
  r.files = s.value("files", uint64_t{0});
  r.examples = s.value("examples", uint64_t{0});
  r.images = s.value("images", uint64_t{0});
  r.errors = s.value("errors", uint64_t{0});
  r.warnings = s.value("warnings", uint64_t{0});
  r.infos = s.value("infos", uint64_t{0});
  r.excluded = s.value("excluded", uint64_t{0});
  return r;
}

// The per-path excluded lines, as run_checks derives them from the findings.
void derive_excluded_lines(CheckReport& r) {
  for (size_t i = 0; i < r.findings.size(); ++i) {
    const auto& rec = r.findings.record(i);
    if (!rec.excluded) continue;
    auto& lines = r.excluded_lines[r.findings.string(rec.path)];
    if (lines.empty() || lines.back() != rec.line) lines.push_back(rec.line);
  }
  for (auto& [path, lines] : r.excluded_lines) {
    std::sort(lines.begin(), lines.end());
    lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  }
}

nlohmann::json rules_json(const CheckReport& r, const ReportFilter& filter) {
  nlohmann::json a = nlohmann::json::array();
  for (const RuleSummary& s : summarize_rules(r, filter, 0))
    a.push_back({{"rule", s.rule},         {"severity", severity_name(s.severity)}, {"findings", s.findings},
                 {"errors", s.errors},     {"warnings", s.warnings},                {"infos", s.infos},
                 {"excluded", s.excluded}, {"shown", s.shown},                      {"fix", s.fix}});
  return a;
}

// Counts of the findings a filter shows (the whole report's when it is empty).
nlohmann::json shown_json(const CheckReport& r, const check::ShownFindings& shown) {
  uint64_t n = 0, errors = 0, warnings = 0, infos = 0, excluded = 0;
  for (size_t i = 0; i < r.findings.size(); ++i) {
    if (!shown(i)) continue;
    const auto& rec = r.findings.record(i);
    ++n;
    errors += rec.severity == Severity::kError;
    warnings += rec.severity == Severity::kWarning;
    infos += rec.severity == Severity::kInfo;
    excluded += rec.excluded;
  }
  return {{"findings", n}, {"errors", errors}, {"warnings", warnings}, {"infos", infos}, {"excluded", excluded}};
}

}  // namespace

nlohmann::json CheckReport::to_json() const {
  const ReportFilter none;
  nlohmann::json findings_json = nlohmann::json::array();
  for (const auto& f : findings) findings_json.push_back(check::finding_to_json(f));
  nlohmann::json excluded_json = nlohmann::json::object();
  for (const auto& [path, lines] : excluded_lines) excluded_json[path] = lines;
  return {{"ok", ok()},
          {"summary", summary_json(summary)},
          {"filter", nullptr},
          {"shown", shown_json(*this, check::ShownFindings(findings, none))},
          {"rules", rules_json(*this, none)},
          {"findings", findings_json},
          {"excluded_lines", excluded_json}};
}

void CheckReport::write_json(std::ostream& out) const { write_json(out, ReportFilter{}); }

void CheckReport::write_json(std::ostream& out, const ReportFilter& filter) const {
  const check::ShownFindings shown(findings, filter);
  out << "{\"ok\": " << (ok() ? "true" : "false") << ", \"summary\": " << summary_json(summary).dump()
      << ", \"filter\": " << filter.to_json().dump(-1, ' ', false, kReplace)
      << ", \"shown\": " << shown_json(*this, shown).dump()
      << ",\n\"rules\": " << rules_json(*this, filter).dump(-1, ' ', false, kReplace) << ",\n\"findings\": [";
  bool first = true;
  for (size_t i = 0; i < findings.size(); ++i) {
    if (!shown(i)) continue;
    out << (first ? "\n" : ",\n") << check::finding_to_json(findings[i]).dump(-1, ' ', false, kReplace);
    first = false;
  }
  out << (first ? "" : "\n") << "], \"excluded_lines\": {";
  bool first_path = true;
  for (const auto& [path, lines] : excluded_lines) {
    out << (first_path ? "" : ", ") << nlohmann::json(path).dump(-1, ' ', false, kReplace) << ": [";
    first_path = false;
    for (size_t i = 0; i < lines.size(); ++i) out << (i ? "," : "") << lines[i];
    out << "]";
  }
  out << "}}";
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
  r.summary = summary_from(j.at("summary"));
  for (const auto& f : j.at("findings")) r.findings.push_back(check::finding_from_json(f));
  if (j.contains("excluded_lines"))
    for (auto& [path, lines] : j["excluded_lines"].items()) r.excluded_lines[path] = lines.get<std::vector<uint64_t>>();
  return r;
}

std::string CheckReport::encode() const {
  nlohmann::json head = {{"format", 2},
                         {"summary", summary_json(summary)},
                         {"strings", findings.string_count()},
                         {"findings", findings.size()}};
  std::string out = head.dump() + "\n";
  for (uint32_t k = 1; k < findings.string_count(); ++k)
    out += nlohmann::json(findings.string(k)).dump(-1, ' ', false, kReplace) + "\n";
  for (size_t i = 0; i < findings.size(); ++i) {
    const auto& r = findings.record(i);
    out += "[" + std::to_string(r.rule) + "," + std::to_string(r.path) + "," + std::to_string(r.line) + "," +
           std::to_string(r.message_index) + "," + std::to_string(r.content_index) + "," +
           std::to_string(r.object) + "," + std::to_string(r.message) + "," + std::to_string(r.fix) + "," +
           std::to_string(static_cast<int>(r.severity)) + "," + (r.excluded ? "1" : "0") + "]\n";
  }
  return out;
}

CheckReport CheckReport::decode(std::string_view stored) {
  size_t pos = 0, line_no = 0;
  auto corrupt = [&](const std::string& why) {
    fail(ErrorCode::kCorrupt, "stored check report, line " + std::to_string(line_no) + ": " + why);
  };
  auto next_line = [&]() -> std::string_view {
    if (pos >= stored.size()) {
      ++line_no;
      corrupt("the report ends early (truncated?)");
    }
    const size_t end = std::min(stored.find('\n', pos), stored.size());
    std::string_view line = stored.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    return line;
  };
  nlohmann::json head;
  try {
    head = nlohmann::json::parse(next_line());
    if (!head.is_object() || head.value("format", 0) != 2) return from_json(nlohmann::json::parse(stored));  // kura 0.1
  } catch (const nlohmann::json::exception& e) {
    corrupt(e.what());
  }
  CheckReport r;
  std::vector<std::string> strings{""};
  try {
    r.summary = summary_from(head.at("summary"));
    const size_t n_strings = head.at("strings"), n_findings = head.at("findings");
    for (size_t k = 1; k < n_strings; ++k) strings.push_back(nlohmann::json::parse(next_line()).get<std::string>());
    for (size_t i = 0; i < n_findings; ++i) {
      std::string_view line = next_line();
      if (line.size() < 2 || line.front() != '[' || line.back() != ']') corrupt("expected a finding [rule,path,...]");
      int64_t v[10];
      const char* p = line.data() + 1;
      const char* end = line.data() + line.size() - 1;
      for (int k = 0; k < 10; ++k) {
        auto [next, ec] = std::from_chars(p, end, v[k]);
        if (ec != std::errc() || (k < 9 && (next == end || *next != ',')) || (k == 9 && next != end))
          corrupt("expected 10 numbers in the finding");
        p = next + 1;
      }
      for (int k : {0, 1, 5, 6, 7})
        if (v[k] < 0 || static_cast<size_t>(v[k]) >= strings.size()) corrupt("string index out of range");
      if (v[8] < 0 || v[8] > 2) corrupt("severity out of range");
      Finding f;
      f.rule = strings[v[0]];
      f.path = strings[v[1]];
      f.line = static_cast<uint64_t>(v[2]);
      f.message_index = static_cast<int>(v[3]);
      f.content_index = static_cast<int>(v[4]);
      f.object = strings[v[5]];
      f.message = strings[v[6]];
      f.fix = strings[v[7]];
      f.severity = static_cast<Severity>(v[8]);
      f.excluded = v[9] != 0;
      r.findings.push_back(f);
    }
  } catch (const nlohmann::json::exception& e) {
    corrupt(e.what());
  }
  derive_excluded_lines(r);
  return r;
}

}  // namespace kura
