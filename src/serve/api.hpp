// The JSON API of the web view (docs/serve.md): one function per endpoint,
// each given an open repository and the request's validated parameters.
// They read what a page shows and no more: a page of rows reads the chunks
// that hold it, a findings page the stored report (decoded once per commit,
// commits being immutable). Errors are kura::Error (kNotFound for an unknown
// revision, path or run; kInvalidInput for a parameter).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kura/check.hpp"
#include "kura/repo.hpp"
#include "kura/serve.hpp"

namespace kura::serve {

using nlohmann::json;

// A stored check report with its findings indexed by file and line.
struct IndexedReport {
  CheckReport report;
  std::map<std::string, std::map<uint64_t, std::vector<uint32_t>>> by_line;  // path -> line -> finding indexes
};

// Reports and summaries by commit id; a few reports, every summary.
class ReportCache {
 public:
  // The stored report of commit `commit` (a full id), nullptr when it was
  // committed without checks.
  std::shared_ptr<const IndexedReport> report(const Repo& repo, const std::string& commit);
  // Its summary only; null JSON when there is no report.
  json summary(const Repo& repo, const std::string& commit);

 private:
  std::mutex mutex_;
  std::list<std::pair<std::string, std::shared_ptr<const IndexedReport>>> reports_;  // most recent first
  std::map<std::string, json> summaries_;
};

json api_history(Repo& repo, ReportCache& reports, size_t max_commits);
json api_tree(Repo& repo, const std::string& rev, const std::string& path);

struct RowsQuery {
  std::string rev, path;
  uint64_t offset = 0;  // 0-based line index to start at
  uint64_t limit = 50;
  std::string q;        // text every shown example contains (case-insensitive)
  std::string label;    // the assistant's answer, exactly
};
json api_rows(Repo& repo, ReportCache& reports, const RowsQuery& query, ServeCounters& counters);

struct FindingsQuery {
  std::string rev;
  std::string rule, severity, file, excluded;  // filters; "" is any; excluded "yes" / "no"
  uint64_t offset = 0, limit = 60;
};
json api_findings(Repo& repo, ReportCache& reports, const FindingsQuery& query);

json api_diff(Repo& repo, const std::string& a, const std::string& b, size_t max_rows_per_file);
json api_runs(Repo& repo);
json api_run(Repo& repo, const std::string& id);
// Two runs compared: compare_runs() (a, b, spec, data, metrics) plus "runs":
// [{run, metrics}] of both, for the page's charts.
json api_run_diff(Repo& repo, const std::string& a, const std::string& b);

// The facts of an image the checks cached, as the pages show them.
json image_json(const Store& store, const Policy& policy, const ObjectId& id);

// The curation action (api_curate.cpp). A request's body, validated:
// Error(kInvalidInput) naming the field for a body that is not a JSON
// object, a bad path (check_path; nothing under .kura/), a line < 1, a row
// that is not an id or comes without a line, and, to exclude, an empty reason.
enum class Curation { kExclude, kInclude };
struct CurationRequest {
  ExclusionTarget target;
  std::string reason;
};
CurationRequest parse_curation(const std::string& body, Curation action);
// Edits the working folder's kura-exclusions.jsonl with kura::exclude() or
// kura::include() and answers {file, changed, changes: [{path, line, row,
// reason, action}], excluded, note}. The library's errors pass through
// (kNotFound: no such file; kInvalidInput: a line past the end, a JSONL file
// without a line, kura's own file; kConflict: the line holds another row
// than `target.row`). Include of a file that neither exists nor has an
// exclusion is kNotFound. The caller holds the repository lock.
json api_curate(const Repo& repo, const CurationRequest& request, Curation action);
// {file, exclusions: [{path, line, row, reason, lines_now}]}: list_exclusions().
json api_exclusions(const Repo& repo);

// The working folder's hand exclusions, read once for a page: which of the
// examples shown are excluded now (which may differ from the commit's
// report). A malformed file reads as the entries that parse.
class WorkingExclusions {
 public:
  explicit WorkingExclusions(const std::filesystem::path& root);
  // The entry excluding `path` (line 0: the file) whose row is `row`, or,
  // for an entry without a row, whose line is `line`; nullptr if none.
  const Exclusion* find(const std::string& path, uint64_t line, const std::string& row) const;
  // {reason, line} of that entry, or null.
  json state(const std::string& path, uint64_t line, const std::string& row) const;
  bool malformed() const { return malformed_; }

 private:
  std::vector<Exclusion> entries_;
  bool malformed_ = false;
};

// The row ids (hex) at 1-based `lines` of a table, reading only the chunks
// that hold them.
std::map<uint64_t, std::string> rows_at(const Store& store, const ObjectId& manifest, const std::vector<uint64_t>& lines);

}  // namespace kura::serve
