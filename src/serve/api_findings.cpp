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
  // The working folder's state of each finding's example or image file; a
  // JSONL line is named by the commit's row there, as the exclusion names it.
  const WorkingExclusions working(repo.root());
  std::map<std::string, std::vector<uint64_t>> lines_of;
  for (const auto& j : list)
    if (j["line"].get<uint64_t>() > 0) lines_of[j["path"].get<std::string>()].push_back(j["line"].get<uint64_t>());
  std::map<std::string, std::map<uint64_t, std::string>> rows;
  for (const auto& [path, lines] : lines_of) {
    std::optional<FileEntry> f = repo.file_at(commit.id, path);
    if (f && f->pointer.kind == FileKind::kTable) rows[path] = rows_at(repo.store(), f->pointer.object, lines);
  }
  for (auto& j : list) {
    const std::string path = j["path"].get<std::string>();
    const uint64_t line = j["line"].get<uint64_t>();
    std::string row;
    if (line) {
      auto& by_line = rows[path];
      if (auto it = by_line.find(line); it != by_line.end()) row = it->second;
      j["row"] = row.empty() ? json() : json(row);
    }
    j["exclusion"] = working.state(path, line, row);
  }
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
