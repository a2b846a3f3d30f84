#include "report.hpp"

#include <map>

#include "kura/error.hpp"

namespace kura::cli {

namespace {

std::string paint(const std::string& text, const char* code, bool color) {
  return color ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
}

const char* severity_color(Severity s) { return s == Severity::kError ? "31" : s == Severity::kWarning ? "33" : "36"; }

std::string pad(std::string s, size_t n) {
  if (s.size() < n) s.resize(n, ' ');
  return s;
}

std::string plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

void print_finding(std::ostream& out, const Finding& f, bool color, const std::string& rule_fix) {
  std::string where = f.line ? "line " + std::to_string(f.line) : "";
  if (f.message_index >= 0) where += (where.empty() ? "" : ", ") + std::string("message ") + std::to_string(f.message_index);
  if (f.content_index >= 0) where += ", part " + std::to_string(f.content_index);
  out << "  " << paint(severity_name(f.severity), severity_color(f.severity), color) << " " << f.rule;
  if (!where.empty()) out << " (" << where << ")";
  if (f.excluded) out << " [excluded]";
  out << ": " << f.message << "\n";
  if (!f.object.empty()) out << "      image " << f.object.substr(0, 16) << "\n";
  if (!f.fix.empty() && f.fix != rule_fix) out << "      fix: " << f.fix << "\n";
}

void print_rule_blocks(std::ostream& out, const CheckReport& r, const std::vector<RuleSummary>& rules, bool color) {
  out << "by rule:\n";
  for (const RuleSummary& s : rules) {
    if (s.shown == 0) continue;
    std::string count = plural(s.shown, "finding", "findings");
    if (s.shown != s.findings) count += " shown of " + std::to_string(s.findings);
    if (s.excluded) count += " (" + std::to_string(s.excluded) + " excluded)";
    out << "  " << paint(pad(severity_name(s.severity), 7), severity_color(s.severity), color) << " "
        << pad(s.rule, 28) << " " << count << "\n";
    if (!s.fix.empty()) out << "          fix: " << s.fix << "\n";
    for (size_t i : s.examples) {
      const auto& rec = r.findings.record(i);
      const std::string& path = r.findings.string(rec.path);
      out << "          " << (path.empty() ? "(data set)" : path) << (rec.line ? ":" + std::to_string(rec.line) : "")
          << ": " << r.findings.string(rec.message) << "\n";
    }
    if (s.shown > s.examples.size()) out << "          ... and " << s.shown - s.examples.size() << " more\n";
  }
}

}  // namespace

void print_report(std::ostream& out, const CheckReport& r, bool color, size_t per_rule, const std::string& see_all,
                  const ReportFilter& filter) {
  const std::vector<RuleSummary> rules = summarize_rules(r, filter, kExamplesPerRule);
  std::map<std::string, std::string> rule_fix;
  uint64_t shown = 0;
  for (const auto& s : rules) {
    rule_fix[s.rule] = s.fix;
    shown += s.shown;
  }
  if (shown) {
    out << "\n";
    print_rule_blocks(out, r, rules, color);
  }
  const std::vector<bool> shown_at = filter.empty() ? std::vector<bool>() : filter.shown(r.findings);
  std::map<uint32_t, uint64_t> seen;  // by rule: findings shown so far
  uint32_t current = UINT32_MAX;      // the path whose heading was printed last
  for (size_t i = 0; i < r.findings.size(); ++i) {
    const FindingList::Record& rec = r.findings.record(i);
    if (!shown_at.empty() && !shown_at[i]) continue;
    if (++seen[rec.rule] > per_rule && per_rule != 0) continue;
    if (rec.path != current) {
      if (current == UINT32_MAX) out << "\nfindings:\n";
      current = rec.path;
      const std::string& path = r.findings.string(rec.path);
      out << "\n" << paint(path.empty() ? "(data set)" : path, "1", color) << "\n";
    }
    print_finding(out, r.findings[i], color, rule_fix[r.findings.string(rec.rule)]);
  }
  std::map<std::string, uint64_t> hidden;  // by rule name, for a stable order
  for (const auto& [rule, n] : seen)
    if (per_rule != 0 && n > per_rule) hidden[r.findings.string(rule)] = n - per_rule;
  if (!hidden.empty()) {
    out << "\nnot shown (the first " << per_rule << " findings of each rule are):\n";
    for (const auto& [rule, n] : hidden) out << "  " << rule << ": " << n << " more\n";
    out << "see every finding with '" << see_all << "' (or --json)\n";
  }
  if (!filter.empty()) {
    std::string what;
    for (const auto& p : filter.rules) what += " --rule " + p;
    if (filter.min_severity) what += std::string(" --severity ") + severity_name(*filter.min_severity);
    for (const auto& f : filter.files) what += " --file " + f;
    out << "\nfiltered by" << what << ": " << shown << " of " << plural(r.findings.size(), "finding", "findings")
        << " shown; the totals and the exit status are the whole report's\n";
  }
  const auto& s = r.summary;
  out << "\n"
      << s.files << " files, " << s.examples << " examples, " << s.images << " images: "
      << paint(std::to_string(s.errors) + (s.errors == 1 ? " error" : " errors"), s.errors ? "31" : "32", color) << ", "
      << s.warnings << (s.warnings == 1 ? " warning" : " warnings") << ", " << s.infos << " info";
  if (s.excluded) out << ", " << s.excluded << " excluded";
  out << "\n";
}

ReportFilter FilterArgs::filter(const CheckReport& report, Validate validate) const {
  ReportFilter f;
  f.rules = rules;
  f.files = files;
  if (!severity.empty()) {
    f.min_severity = parse_severity(severity);
    if (!f.min_severity)
      fail(ErrorCode::kInvalidInput, "--severity must be error, warning or info (this and worse), not '" + severity + "'");
  }
  if (validate == Validate::kYes) f.validate(report);
  return f;
}

std::string FilterArgs::arguments() const {
  std::string out;
  for (const auto& p : rules) out += " --rule " + p;
  if (!severity.empty()) out += " --severity " + severity;
  for (const auto& p : files) out += " --file " + p;
  return out;
}

std::shared_ptr<FilterArgs> add_filter_options(CLI::App* cmd) {
  auto args = std::make_shared<FilterArgs>();
  cmd->add_option("--rule", args->rules,
                  "Show only findings of this rule: an id, a family (image. or image) or a glob (image.*); repeatable");
  cmd->add_option("--severity", args->severity, "Show only findings of this severity and worse: error, warning or info")
      ->check(CLI::IsMember({"error", "warning", "info"}));
  cmd->add_option("--file", args->files, "Show only findings on this file or under this folder; repeatable");
  return args;
}

}  // namespace kura::cli
