// Filters and per-rule summaries of a check report (kura check --rule,
// --severity, --file, and the summary block printed before the details).
#include "check/report_view.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <set>

#include "kura/error.hpp"

namespace kura {

namespace {

bool rule_matches(const std::string& pattern, const std::string& rule) {
  if (pattern.find_first_of("*?[") != std::string::npos) return ::fnmatch(pattern.c_str(), rule.c_str(), 0) == 0;
  if (rule == pattern) return true;
  if (pattern.empty() || rule.size() <= pattern.size() || rule.compare(0, pattern.size(), pattern) != 0) return false;
  return pattern.back() == '.' || rule[pattern.size()] == '.';
}

bool path_matches(std::string want, const std::string& path) {
  while (want.size() > 1 && want.back() == '/') want.pop_back();
  if (want.rfind("./", 0) == 0) want.erase(0, 2);
  if (want.empty() || want == "." || want == "/") return !path.empty();
  return path == want || (path.size() > want.size() && path.compare(0, want.size(), want) == 0 && path[want.size()] == '/');
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// Known rules near `pattern`: a few edits away, or sharing its last part
// ("too_large" -> image.too_large), closest first.
std::vector<std::string> close_rules(const std::string& pattern, const std::set<std::string>& known) {
  const std::string tail = pattern.substr(pattern.rfind('.') == std::string::npos ? 0 : pattern.rfind('.') + 1);
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& rule : known) {
    size_t d = edit_distance(pattern, rule);
    const std::string rule_tail = rule.substr(rule.rfind('.') + 1);
    if (!tail.empty() && (rule_tail == tail || rule.find(pattern) != std::string::npos)) d = std::min<size_t>(d, 1);
    if (d <= std::max<size_t>(2, pattern.size() / 4)) scored.emplace_back(d, rule);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < 5; ++i) out.push_back(scored[i].second);
  return out;
}

}  // namespace

std::optional<Severity> parse_severity(std::string_view name) {
  if (name == "error") return Severity::kError;
  if (name == "warning") return Severity::kWarning;
  if (name == "info") return Severity::kInfo;
  return std::nullopt;
}

bool ReportFilter::shows(const std::string& rule, Severity severity, const std::string& path) const {
  if (min_severity && static_cast<int>(severity) > static_cast<int>(*min_severity)) return false;
  if (!rules.empty() && std::none_of(rules.begin(), rules.end(), [&](const auto& p) { return rule_matches(p, rule); }))
    return false;
  return files.empty() || std::any_of(files.begin(), files.end(), [&](const auto& f) { return path_matches(f, path); });
}

void ReportFilter::validate(const CheckReport& report) const {
  std::set<std::string> known;
  for (const RuleInfo& r : all_rules()) known.insert(r.id);
  for (size_t i = 0; i < report.findings.size(); ++i) known.insert(report.findings.string(report.findings.record(i).rule));
  for (const auto& pattern : rules) {
    if (std::any_of(known.begin(), known.end(), [&](const auto& r) { return rule_matches(pattern, r); })) continue;
    std::string message = "--rule '" + pattern + "' matches no rule";
    auto near = close_rules(pattern, known);
    if (near.empty()) {
      std::set<std::string> families;
      for (const auto& r : known) families.insert(r.substr(0, r.find('.')));
      message += "; rule families are";
      for (const auto& f : families) message += " " + f + ".";
      message += " (docs/checks.md lists every rule)";
    } else {
      message += " (did you mean ";
      for (size_t i = 0; i < near.size(); ++i) message += (i ? ", " : "") + near[i];
      message += "?)";
    }
    fail(ErrorCode::kInvalidInput, message);
  }
}

std::vector<bool> ReportFilter::shown(const FindingList& list) const {
  const check::ShownFindings shown_at(list, *this);
  std::vector<bool> out(list.size());
  for (size_t i = 0; i < list.size(); ++i) out[i] = shown_at(i);
  return out;
}

nlohmann::json ReportFilter::to_json() const {
  if (empty()) return nullptr;
  nlohmann::json j = nlohmann::json::object();
  if (!rules.empty()) j["rules"] = rules;
  if (min_severity) j["severity"] = severity_name(*min_severity);
  if (!files.empty()) j["files"] = files;
  return j;
}

std::vector<RuleSummary> summarize_rules(const CheckReport& report, const ReportFilter& filter, size_t examples) {
  const FindingList& list = report.findings;
  check::ShownFindings shown(list, filter);
  std::map<uint32_t, RuleSummary> by_rule;  // by string index of the rule
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& rec = list.record(i);
    RuleSummary& s = by_rule[rec.rule];
    if (s.findings == 0) {
      s.rule = list.string(rec.rule);
      s.severity = rec.severity;
      s.fix = list.string(rec.fix);
    }
    ++s.findings;
    if (rec.severity == Severity::kError) ++s.errors;
    else if (rec.severity == Severity::kWarning) ++s.warnings;
    else ++s.infos;
    if (rec.excluded) ++s.excluded;
    if (static_cast<int>(rec.severity) < static_cast<int>(s.severity)) s.severity = rec.severity;
    if (!shown(i)) continue;
    if (s.shown++ == 0) s.fix = list.string(rec.fix);
    if (s.examples.size() < examples) s.examples.push_back(i);
  }
  std::vector<RuleSummary> out;
  for (auto& [k, s] : by_rule) out.push_back(std::move(s));
  std::sort(out.begin(), out.end(), [](const RuleSummary& a, const RuleSummary& b) {
    if (a.severity != b.severity) return static_cast<int>(a.severity) < static_cast<int>(b.severity);
    if (a.findings != b.findings) return a.findings > b.findings;
    return a.rule < b.rule;
  });
  return out;
}

namespace check {

ShownFindings::ShownFindings(const FindingList& list, const ReportFilter& filter)
    : list_(list), filter_(filter), rule_memo_(list.string_count(), -1), path_memo_(list.string_count(), -1) {}

bool ShownFindings::matches(std::vector<int8_t>& memo, uint32_t k, bool rule) const {
  if (memo[k] < 0) {
    const std::string& s = list_.string(k);
    if (rule)
      memo[k] = filter_.rules.empty() ||
                std::any_of(filter_.rules.begin(), filter_.rules.end(), [&](const auto& p) { return rule_matches(p, s); });
    else
      memo[k] = filter_.files.empty() ||
                std::any_of(filter_.files.begin(), filter_.files.end(), [&](const auto& f) { return path_matches(f, s); });
  }
  return memo[k] == 1;
}

bool ShownFindings::operator()(size_t i) const {
  if (filter_.empty()) return true;
  const auto& rec = list_.record(i);
  if (filter_.min_severity && static_cast<int>(rec.severity) > static_cast<int>(*filter_.min_severity)) return false;
  return matches(rule_memo_, rec.rule, true) && matches(path_memo_, rec.path, false);
}

}  // namespace check

}  // namespace kura
