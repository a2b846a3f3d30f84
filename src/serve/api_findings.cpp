// /api/findings (a commit's stored check report, grouped by rule) and
// /api/diff (kura diff of two revisions).
#include <map>

#include "kura/diff.hpp"
#include "kura/error.hpp"
#include "serve/api.hpp"

namespace kura::serve {

json api_findings(Repo& repo, ReportCache& reports, const FindingsQuery& query) {
  const CommitInfo commit = repo.resolve(query.rev);
  auto indexed = reports.report(repo, commit.id);
  json out = {{"commit", commit.id}, {"message", commit.message}};
  if (!indexed) {
    out["stored"] = false;
    out["note"] = "commit " + commit.id.substr(0, 12) +
                  " was made without checks (--no-verify); run 'kura check --rev " + commit.id.substr(0, 12) +
                  "' to check it";
    return out;
  }
  out["stored"] = true;
  const CheckReport& report = indexed->report;
  std::map<std::string, const char*> what;
  for (const RuleInfo& r : all_rules()) what[r.id] = r.what;

  struct Group {
    uint64_t count = 0, errors = 0, warnings = 0, infos = 0, excluded = 0;
  };
  std::map<std::string, Group> groups;
  std::map<std::string, uint64_t> files;
  json list = json::array();
  uint64_t matching = 0;
  const FindingList& findings = report.findings;
  for (size_t i = 0; i < findings.size(); ++i) {
    const auto& r = findings.record(i);
    const std::string& rule = findings.string(r.rule);
    Group& g = groups[rule];
    ++g.count;
    if (r.severity == Severity::kError) ++g.errors;
    else if (r.severity == Severity::kWarning) ++g.warnings;
    else ++g.infos;
    if (r.excluded) ++g.excluded;
    ++files[findings.string(r.path)];
    if (!query.rule.empty() && rule != query.rule) continue;
    if (!query.severity.empty() && query.severity != severity_name(r.severity)) continue;
    if (!query.file.empty() && findings.string(r.path) != query.file) continue;
    if (query.excluded == "yes" && !r.excluded) continue;
    if (query.excluded == "no" && r.excluded) continue;
    if (matching++ < query.offset || list.size() >= query.limit) continue;
    const Finding f = findings[i];
    json j = {{"rule", f.rule},    {"severity", severity_name(f.severity)}, {"path", f.path},
              {"line", f.line},    {"message", f.message},                 {"fix", f.fix},
              {"excluded", f.excluded}};
    if (f.message_index >= 0) j["message_index"] = f.message_index;
    if (f.content_index >= 0) j["content_index"] = f.content_index;
    if (!f.object.empty()) j["object"] = f.object;
    list.push_back(std::move(j));
  }
  json rules = json::array();
  for (const auto& [rule, g] : groups) {
    json j = {{"rule", rule},         {"count", g.count},       {"errors", g.errors},
              {"warnings", g.warnings}, {"infos", g.infos},     {"excluded", g.excluded}};
    if (auto it = what.find(rule); it != what.end()) j["what"] = it->second;
    rules.push_back(std::move(j));
  }
  json file_list = json::array();
  for (const auto& [path, n] : files) {
    if (file_list.size() >= 500) break;
    file_list.push_back({{"path", path}, {"count", n}});
  }
  const CheckSummary& s = report.summary;
  out["summary"] = {{"files", s.files},       {"examples", s.examples}, {"images", s.images},
                    {"errors", s.errors},     {"warnings", s.warnings}, {"infos", s.infos},
                    {"excluded", s.excluded}, {"findings", findings.size()}};
  out["rules"] = std::move(rules);
  out["files"] = std::move(file_list);
  out["findings"] = std::move(list);
  out["matching"] = matching;
  out["offset"] = query.offset;
  out["limit"] = query.limit;
  return out;
}

json api_diff(Repo& repo, const std::string& a, const std::string& b, size_t max_rows_per_file) {
  DiffOptions options;
  options.from = repo.resolve(a).id;
  options.to = repo.resolve(b).id;
  options.detail = DiffDetail::kFull;
  options.labels = true;
  json j = diff(repo, options).to_json();
  for (auto& f : j["files"]) {
    if (!f.contains("rows") || !f["rows"].is_array() || f["rows"].size() <= max_rows_per_file) continue;
    f["rows_shown"] = max_rows_per_file;
    f["rows_total"] = f["rows"].size();
    f["rows"].erase(f["rows"].begin() + static_cast<std::ptrdiff_t>(max_rows_per_file), f["rows"].end());
  }
  return j;
}

}  // namespace kura::serve
