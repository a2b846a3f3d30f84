// /api/history, /api/tree, /api/runs, /api/run and the report cache.
#include <algorithm>

#include "kura/error.hpp"
#include "kura/train.hpp"
#include "serve/api.hpp"

namespace kura::serve {

namespace {

constexpr size_t kReportsKept = 4;
constexpr size_t kTreeEntries = 5000;

json summary_json(const CheckSummary& s) {
  return {{"files", s.files},   {"examples", s.examples}, {"images", s.images},  {"errors", s.errors},
          {"warnings", s.warnings}, {"infos", s.infos},   {"excluded", s.excluded}};
}

json refs_json(const std::vector<RefInfo>& refs) {
  json out = json::array();
  for (const auto& r : refs) out.push_back({{"name", r.name}, {"target", r.target}, {"current", r.current}});
  return out;
}

}  // namespace

std::shared_ptr<const IndexedReport> ReportCache::report(const Repo& repo, const std::string& commit) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = reports_.begin(); it != reports_.end(); ++it)
      if (it->first == commit) {
        reports_.splice(reports_.begin(), reports_, it);
        return it->second;
      }
  }
  std::optional<CheckReport> stored = repo.commit_report(commit);
  if (!stored) return nullptr;
  auto indexed = std::make_shared<IndexedReport>();
  indexed->report = std::move(*stored);
  const FindingList& list = indexed->report.findings;
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& r = list.record(i);
    indexed->by_line[list.string(r.path)][r.line].push_back(static_cast<uint32_t>(i));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  summaries_[commit] = summary_json(indexed->report.summary);
  reports_.emplace_front(commit, indexed);
  if (reports_.size() > kReportsKept) reports_.pop_back();
  return indexed;
}

json ReportCache::summary(const Repo& repo, const std::string& commit) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = summaries_.find(commit); it != summaries_.end()) return it->second;
  }
  std::optional<CheckReport> stored = repo.commit_report(commit);
  json s = stored ? summary_json(stored->summary) : json();
  std::lock_guard<std::mutex> lock(mutex_);
  summaries_[commit] = s;
  return s;
}

json api_history(Repo& repo, ReportCache& reports, size_t max_commits) {
  json out;
  const auto branches = repo.branches();
  const auto tags = repo.tags();
  out["branches"] = refs_json(branches);
  out["tags"] = refs_json(tags);
  out["current"] = repo.current_branch();
  // Every commit reachable from a branch or tag (HEAD too, when detached).
  std::map<std::string, std::vector<std::string>> labels;  // commit -> ref names
  std::vector<std::string> starts;
  for (const auto& b : branches) labels[b.target].push_back(b.name), starts.push_back(b.target);
  for (const auto& t : tags) labels[t.target].push_back("tag: " + t.name), starts.push_back(t.target);
  if (out["current"].get<std::string>().empty()) {
    try {
      starts.push_back(repo.resolve("HEAD").id);
      labels[starts.back()].push_back("HEAD");
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kNotFound) throw;  // no commit yet
    }
  }
  // Newest first; commits of the same second keep the order git's log gave
  // them (a child before its parent).
  std::map<std::string, std::pair<size_t, CommitInfo>> seen;
  bool truncated = false;
  for (const auto& s : starts) {
    if (seen.count(s)) continue;
    for (auto& c : repo.log(s, max_commits + 1)) {
      const size_t order = seen.size();
      std::string id = c.id;  // not c.id below: c is moved from in the same call
      seen.emplace(std::move(id), std::make_pair(order, std::move(c)));
    }
  }
  std::vector<const std::pair<size_t, CommitInfo>*> sorted;
  for (const auto& [id, c] : seen) sorted.push_back(&c);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
    return a->second.time != b->second.time ? a->second.time > b->second.time : a->first < b->first;
  });
  std::vector<const CommitInfo*> commits;
  for (const auto* p : sorted) commits.push_back(&p->second);
  if (commits.size() > max_commits) {
    commits.resize(max_commits);
    truncated = true;
  }
  out["commits"] = json::array();
  for (const CommitInfo* c : commits) {
    json j = {{"id", c->id},
              {"parents", c->parents},
              {"author", c->author_name},
              {"email", c->author_email},
              {"time", c->time},
              {"offset_minutes", c->offset_minutes},
              {"message", c->message},
              {"refs", labels.count(c->id) ? json(labels[c->id]) : json::array()},
              {"checks", reports.summary(repo, c->id)}};
    out["commits"].push_back(std::move(j));
  }
  out["truncated"] = truncated;
  return out;
}

json api_tree(Repo& repo, const std::string& rev, const std::string& path) {
  const CommitInfo commit = repo.resolve(rev);
  const std::string prefix = path.empty() ? "" : path + "/";
  std::map<std::string, json> folders;
  json files = json::array();
  bool found = path.empty();
  size_t listed = 0;
  for (const FileEntry& f : repo.ls_files(commit.id)) {
    if (f.path == path) {
      fail(ErrorCode::kInvalidInput, "'" + path + "' is a file of commit " + commit.id.substr(0, 12) +
                                         ", not a folder; open it with /api/rows or /object/");
    }
    if (f.path.compare(0, prefix.size(), prefix) != 0) continue;
    found = true;
    const std::string rest = f.path.substr(prefix.size());
    if (size_t slash = rest.find('/'); slash != std::string::npos) {
      json& dir = folders[rest.substr(0, slash)];
      if (dir.is_null()) dir = {{"name", rest.substr(0, slash)}, {"path", prefix + rest.substr(0, slash)},
                                {"kind", "folder"}, {"files", 0}, {"size", 0}};
      dir["files"] = dir["files"].get<uint64_t>() + 1;
      dir["size"] = dir["size"].get<uint64_t>() + f.pointer.size;
      continue;
    }
    if (++listed > kTreeEntries) continue;
    json j = {{"name", rest}, {"path", f.path}, {"kind", kind_name(f.pointer.kind)}, {"size", f.pointer.size},
              {"object", f.pointer.object.hex()}};
    if (f.pointer.kind == FileKind::kTable) j["rows"] = f.pointer.rows;
    files.push_back(std::move(j));
  }
  if (!found) fail(ErrorCode::kNotFound, "commit " + commit.id.substr(0, 12) + " has no folder '" + path + "'");
  json entries = json::array();
  for (auto& [name, dir] : folders) entries.push_back(std::move(dir));
  for (auto& f : files) entries.push_back(std::move(f));
  return {{"commit", commit.id},   {"message", commit.message}, {"path", path},
          {"entries", entries},    {"truncated", listed > kTreeEntries}, {"files_in_folder", listed}};
}

json api_runs(Repo& repo) {
  json out = json::array();
  for (const RunRecord& r : list_runs(repo)) out.push_back(r.to_json());
  return {{"runs", out}};
}

json api_run(Repo& repo, const std::string& id) {
  RunRecord record = find_run(repo, id);
  json metrics;
  if (!record.metrics.empty()) metrics = run_metrics(repo, record);
  return {{"run", record.to_json()}, {"metrics", metrics}};
}

json api_run_diff(Repo& repo, const std::string& a, const std::string& b) {
  const RunRecord ra = find_run(repo, a), rb = find_run(repo, b);
  json out = compare_runs(repo, ra, rb);
  out["runs"] = json::array();
  for (const RunRecord* r : {&ra, &rb}) {
    json metrics;
    if (!r->metrics.empty()) metrics = run_metrics(repo, *r);
    out["runs"].push_back({{"run", r->to_json()}, {"metrics", metrics}});
  }
  return out;
}

json image_json(const Store& store, const Policy& policy, const ObjectId& id) {
  json j = {{"object", id.hex()}};
  std::optional<ImageInfo> info = cached_image_info(store, id, policy);
  j["known"] = info.has_value();
  if (info) {
    j["bytes"] = info->bytes;
    j["format"] = info->format;
    j["width"] = info->width;
    j["height"] = info->height;
    j["mode"] = info->mode;
    j["decodes"] = info->decodes;
    if (info->faces >= 0) j["faces"] = info->faces;
    if (!info->error.empty()) j["error"] = info->error;
  }
  return j;
}

}  // namespace kura::serve
