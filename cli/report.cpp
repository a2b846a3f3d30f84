#include "report.hpp"

namespace kura::cli {

namespace {

std::string paint(const std::string& text, const char* code, bool color) {
  return color ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
}

}  // namespace

void print_report(std::ostream& out, const CheckReport& r, bool color) {
  std::string current;
  for (const auto& f : r.findings) {
    if (f.path != current) {
      current = f.path;
      out << "\n" << paint(current.empty() ? "(data set)" : current, "1", color) << "\n";
    }
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
  const auto& s = r.summary;
  out << "\n"
      << s.files << " files, " << s.examples << " examples, " << s.images << " images: "
      << paint(std::to_string(s.errors) + (s.errors == 1 ? " error" : " errors"), s.errors ? "31" : "32", color) << ", "
      << s.warnings << (s.warnings == 1 ? " warning" : " warnings") << ", " << s.infos << " info";
  if (s.excluded) out << ", " << s.excluded << " excluded";
  out << "\n";
}

}  // namespace kura::cli
