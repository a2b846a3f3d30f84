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

// The facts of an image the checks cached, as the pages show them.
json image_json(const Store& store, const Policy& policy, const ObjectId& id);

}  // namespace kura::serve
