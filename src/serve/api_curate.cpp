// The curation action: POST /api/exclude and /api/include edit the working
// folder's kura-exclusions.jsonl through the library's exclude() and
// include(), as `kura exclude` and `kura include` do; GET /api/exclusions
// lists it. The caller holds the repository lock for the request.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "kura/error.hpp"
#include "kura/objects.hpp"
#include "kura/store.hpp"
#include "serve/api.hpp"
#include "serve/params.hpp"

namespace kura::serve {

namespace fs = std::filesystem;

namespace {

json entry_json(const Exclusion& e) {
  json j = {{"path", e.path}, {"line", e.line}};
  j["row"] = e.row.empty() ? json() : json(e.row);
  j["reason"] = e.reason;
  return j;
}

// True when `path` (checked by check_path) stays inside `root` once its
// symbolic links are followed; a missing file is judged by its folder.
bool stays_inside(const fs::path& root, const std::string& path) {
  std::error_code ec;
  const fs::path top = fs::canonical(root, ec);
  if (ec) return false;
  fs::path p = fs::weakly_canonical(root / path, ec);
  if (ec) return false;
  const std::string a = top.string() + "/", b = p.string();
  return b.compare(0, a.size(), a) == 0;
}

}  // namespace

CurationRequest parse_curation(const std::string& body, Curation action) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error&) {
    fail(ErrorCode::kInvalidInput, "the request body is not JSON; send {\"path\": ..., \"line\": ..., \"reason\": ...}");
  }
  if (!j.is_object()) fail(ErrorCode::kInvalidInput, "the request body must be a JSON object {path, line, reason}");
  CurationRequest r;
  if (!j.contains("path") || !j["path"].is_string())
    fail(ErrorCode::kInvalidInput, "field 'path' is required: the file, relative to the top of the repository");
  r.target.path = check_path("path", j["path"].get<std::string>(), false);
  if (r.target.path == ".kura" || r.target.path.rfind(".kura/", 0) == 0)
    fail(ErrorCode::kInvalidInput, "field 'path' names kura's own folder .kura/, not data");
  if (j.contains("line") && !j["line"].is_null()) {
    const json& line = j["line"];
    if (!line.is_number_integer() || line.get<int64_t>() < 1)
      fail(ErrorCode::kInvalidInput, "field 'line' must be a whole number from 1 (lines are numbered from 1), not " +
                                         line.dump());
    r.target.line = line.get<uint64_t>();
  }
  if (j.contains("row") && !j["row"].is_null()) {
    if (!j["row"].is_string()) fail(ErrorCode::kInvalidInput, "field 'row' must be a row id (64 hex digits)");
    if (!r.target.line) fail(ErrorCode::kInvalidInput, "field 'row' needs a 'line': it is the row shown at that line");
    r.target.row = check_id("row", j["row"].get<std::string>()).hex();
  }
  if (j.contains("reason") && !j["reason"].is_null()) {
    if (!j["reason"].is_string()) fail(ErrorCode::kInvalidInput, "field 'reason' must be text");
    r.reason = j["reason"].get<std::string>();
  }
  if (action == Curation::kExclude && r.reason.find_first_not_of(" \t\r\n") == std::string::npos)
    fail(ErrorCode::kInvalidInput, "field 'reason' is required and must not be empty: it is kept with the exclusion, "
                                   "for whoever reviews it");
  if (r.reason.size() > 2000) fail(ErrorCode::kInvalidInput, "field 'reason' is longer than 2000 characters");
  return r;
}

json api_curate(const Repo& repo, const CurationRequest& request, Curation action) {
  const fs::path& root = repo.root();
  if (!stays_inside(root, request.target.path))
    fail(ErrorCode::kInvalidInput, "'" + request.target.path + "' leaves the repository (a symbolic link)");
  std::vector<ExclusionChange> changes;
  if (action == Curation::kExclude) {
    changes = exclude(root, {request.target}, request.reason);
  } else {
    changes = include(root, {request.target});
    std::error_code ec;
    if (changes.size() == 1 && changes[0].action == "not excluded" && !fs::exists(root / request.target.path, ec))
      fail(ErrorCode::kNotFound, "'" + request.target.path + "' does not exist in the working folder and has no exclusion");
  }
  json list = json::array();
  size_t changed = 0;
  for (const auto& c : changes) {
    json j = entry_json(c.entry);
    j["action"] = c.action;
    list.push_back(std::move(j));
    changed += c.action == "excluded" || c.action == "included";
  }
  const bool excluded_now = !changes.empty() && (changes[0].action == "excluded" || changes[0].action == "already excluded");
  json out = {{"file", kExclusionsFile}, {"changed", changed}, {"changes", list}, {"excluded", excluded_now}};
  out["note"] = changed ? std::string(kExclusionsFile) + " changed in the working folder; 'kura status' shows it, "
                          "'kura add " + kExclusionsFile + "' and 'kura commit' record it"
                        : "nothing changed";
  return out;
}

json api_exclusions(const Repo& repo) {
  json list = json::array();
  for (const ListedExclusion& l : list_exclusions(repo.root())) {
    json j = entry_json(l.entry);
    j["lines_now"] = l.lines_now;
    list.push_back(std::move(j));
  }
  return {{"file", kExclusionsFile}, {"exclusions", list}};
}

WorkingExclusions::WorkingExclusions(const fs::path& root) {
  std::ifstream in(root / kExclusionsFile, std::ios::binary);
  if (!in) return;
  std::ostringstream text;
  text << in.rdbuf();
  Exclusions parsed = Exclusions::parse(text.str());
  entries_ = std::move(parsed.entries);
  malformed_ = !parsed.errors.empty();
}

const Exclusion* WorkingExclusions::find(const std::string& path, uint64_t line, const std::string& row) const {
  for (const Exclusion& e : entries_) {
    if (e.path != path) continue;
    if (line == 0 ? e.line == 0 && e.row.empty() : (!e.row.empty() ? e.row == row : e.line == line)) return &e;
  }
  return nullptr;
}

json WorkingExclusions::state(const std::string& path, uint64_t line, const std::string& row) const {
  const Exclusion* e = find(path, line, row);
  if (!e) return nullptr;
  return {{"reason", e->reason}, {"line", e->line}};
}

std::map<uint64_t, std::string> rows_at(const Store& store, const ObjectId& manifest, const std::vector<uint64_t>& lines) {
  std::map<uint64_t, std::string> out;
  if (lines.empty()) return out;
  std::vector<uint64_t> want = lines;
  std::sort(want.begin(), want.end());
  size_t k = 0;
  uint64_t first = 1;  // the chunk's first line, 1-based
  for (const ManifestChunk& chunk : read_manifest_chunks(store, manifest)) {
    while (k < want.size() && want[k] < first) ++k;
    if (k == want.size()) break;
    if (want[k] < first + chunk.rows) {
      const std::vector<RowRef> refs = read_chunk(store, chunk);
      for (; k < want.size() && want[k] < first + chunk.rows; ++k) out[want[k]] = refs[want[k] - first].row.hex();
    }
    first += chunk.rows;
  }
  return out;
}

}  // namespace kura::serve
