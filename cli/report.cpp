#include "report.hpp"

#include <map>

namespace kura::cli {

namespace {

std::string paint(const std::string& text, const char* code, bool color) {
  return color ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
}

void print_finding(std::ostream& out, const Finding& f, bool color) {
  const char* code = f.severity == Severity::kError ? "31" : f.severity == Severity::kWarning ? "33" : "36";
  std::string where = f.line ? "line " + std::to_string(f.line) : "";
  if (f.message_index >= 0) where += (where.empty() ? "" : ", ") + std::string("message ") + std::to_string(f.message_index);
  if (f.content_index >= 0) where += ", part " + std::to_string(f.content_index);
  out << "  " << paint(severity_name(f.severity), code, color) << " " << f.rule;
  if (!where.empty()) out << " (" << where << ")";
  if (f.excluded) out << " [excluded]";
  out << ": " << f.message << "\n";
  if (!f.object.empty()) out << "      image " << f.object.substr(0, 16) << "\n";
  if (!f.fix.empty()) out << "      fix: " << f.fix << "\n";
}

}  // namespace

void print_report(std::ostream& out, const CheckReport& r, bool color, size_t per_rule, const std::string& see_all) {
  std::map<uint32_t, uint64_t> seen;  // by rule: findings so far
  uint32_t current = UINT32_MAX;      // the path whose heading was printed last
  for (size_t i = 0; i < r.findings.size(); ++i) {
    const FindingList::Record& rec = r.findings.record(i);
    if (++seen[rec.rule] > per_rule && per_rule != 0) continue;
    if (rec.path != current) {
      current = rec.path;
      const std::string& path = r.findings.string(rec.path);
      out << "\n" << paint(path.empty() ? "(data set)" : path, "1", color) << "\n";
    }
    print_finding(out, r.findings[i], color);
  }
  std::map<std::string, uint64_t> hidden;  // by rule name, for a stable order
  for (const auto& [rule, n] : seen)
    if (per_rule != 0 && n > per_rule) hidden[r.findings.string(rule)] = n - per_rule;
  if (!hidden.empty()) {
    out << "\nnot shown (the first " << per_rule << " findings of each rule are):\n";
    for (const auto& [rule, n] : hidden) out << "  " << rule << ": " << n << " more\n";
    out << "see every finding with '" << see_all << "' (or --json)\n";
  }
  const auto& s = r.summary;
  out << "\n"
      << s.files << " files, " << s.examples << " examples, " << s.images << " images: "
      << paint(std::to_string(s.errors) + (s.errors == 1 ? " error" : " errors"), s.errors ? "31" : "32", color) << ", "
      << s.warnings << (s.warnings == 1 ? " warning" : " warnings") << ", " << s.infos << " info";
  if (s.excluded) out << ", " << s.excluded << " excluded";
  out << "\n";
}

}  // namespace kura::cli
