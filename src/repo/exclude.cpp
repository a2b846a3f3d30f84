// kura exclude / include: editing kura-exclusions.jsonl.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "kura/error.hpp"
#include "kura/objects.hpp"
#include "kura/repo.hpp"
#include "repo/repo_impl.hpp"
#include "util/fs.hpp"

namespace kura {

namespace fs = std::filesystem;

namespace {

// The row ids of a JSONL file's lines, split as store_table splits them.
std::vector<ObjectId> row_ids(const fs::path& file) {
  MappedFile mapped(file);
  const std::string_view bytes = mapped.bytes();
  std::vector<ObjectId> ids;
  std::vector<std::string> images;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t nl = bytes.find('\n', pos);
    std::string_view line = bytes.substr(pos, (nl == std::string_view::npos ? bytes.size() : nl) - pos);
    pos = nl == std::string_view::npos ? bytes.size() : nl + 1;
    if (nl != std::string_view::npos && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    images.clear();
    ids.push_back(sha256(encode_row(split_row(line, &images))));
  }
  return ids;
}

std::vector<Exclusion> read_entries(const fs::path& root) {
  struct stat st;
  const fs::path file = root / kExclusionsFile;
  if (::lstat(file.c_str(), &st) != 0) return {};
  if (!S_ISREG(st.st_mode)) fail(ErrorCode::kInvalidInput, std::string(kExclusionsFile) + " is not a regular file");
  Exclusions parsed = Exclusions::parse(MappedFile(file).bytes());
  if (!parsed.errors.empty()) {
    const Finding& f = parsed.errors.front();
    fail(ErrorCode::kInvalidInput, std::string(kExclusionsFile) + ":" + std::to_string(f.line) + ": " + f.message +
                                       "; fix the line first (nothing was changed)");
  }
  return parsed.entries;
}

void write_entries(const fs::path& root, const std::vector<Exclusion>& entries) {
  write_file_atomic(root / kExclusionsFile, Exclusions::format(entries));
}

// A page showed `t.row` at `t.line`: the working folder's line must still hold it.
void require_row(const ExclusionTarget& t, const std::string& row_now) {
  if (t.row.empty() || t.row == row_now) return;
  fail(ErrorCode::kConflict, "line " + std::to_string(t.line) + " of '" + t.path + "' in the working folder holds row " +
                                 (row_now.empty() ? std::string("(none)") : row_now.substr(0, 12)) + ", not row " +
                                 t.row.substr(0, 12) + " that was shown; the file changed since, look again");
}

}  // namespace

ExclusionTarget parse_exclusion_target(const fs::path& root, const fs::path& cwd, const std::string& arg) {
  ExclusionTarget t;
  std::string path = arg;
  const size_t colon = arg.rfind(':');
  if (colon != std::string::npos && colon + 1 < arg.size() &&
      std::all_of(arg.begin() + colon + 1, arg.end(), [](unsigned char c) { return std::isdigit(c); })) {
    struct stat st;
    if (::lstat((cwd / arg).c_str(), &st) != 0) {  // "a:3" naming a file "a:3" is that file
      path = arg.substr(0, colon);
      t.line = std::stoull(arg.substr(colon + 1));
      if (t.line == 0) fail(ErrorCode::kInvalidInput, "'" + arg + "': lines are numbered from 1");
    }
  }
  t.path = relative_to_root(root, cwd, path);
  if (t.path.empty()) fail(ErrorCode::kInvalidInput, "'" + arg + "' is the whole data set; name a file or a line");
  return t;
}

std::vector<ExclusionChange> exclude(const fs::path& root, const std::vector<ExclusionTarget>& targets,
                                     const std::string& reason) {
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos)
    fail(ErrorCode::kInvalidInput, "give a --reason: it is kept with the exclusion, for whoever reviews it");
  std::vector<Exclusion> entries = read_entries(root);
  std::unordered_map<std::string, std::vector<ObjectId>> rows;  // per JSONL file, read once
  std::vector<ExclusionChange> changes;
  for (const ExclusionTarget& t : targets) {
    if (t.path == kExclusionsFile || t.path == kPolicyFile)
      fail(ErrorCode::kInvalidInput, "'" + t.path + "' is kura's own file, not data");
    struct stat st;
    if (::lstat((root / t.path).c_str(), &st) != 0)
      fail(ErrorCode::kNotFound, "'" + t.path + "' does not exist in the working folder");
    if (S_ISDIR(st.st_mode))
      fail(ErrorCode::kInvalidInput, "'" + t.path + "' is a folder; name its files (or JSONL lines, PATH:LINE)");
    Exclusion e;
    e.path = t.path;
    e.reason = reason;
    if (is_table_path(t.path)) {
      if (!t.line)
        fail(ErrorCode::kInvalidInput, "'" + t.path + "' is a JSONL file: name the lines to leave out (" + t.path +
                                           ":LINE); a whole file is left out with 'kura rm'");
      auto it = rows.find(t.path);
      if (it == rows.end()) it = rows.emplace(t.path, row_ids(root / t.path)).first;
      if (t.line > it->second.size())
        fail(ErrorCode::kInvalidInput, "'" + t.path + "' has " + std::to_string(it->second.size()) +
                                           " lines; there is no line " + std::to_string(t.line));
      e.line = t.line;
      e.row = it->second[t.line - 1].hex();
      require_row(t, e.row);
    } else if (t.line) {
      fail(ErrorCode::kInvalidInput, "'" + t.path + "' is not a JSONL file, so it has no lines to exclude; name the file alone");
    }
    auto same = std::find_if(entries.begin(), entries.end(), [&](const Exclusion& x) {
      return x.path == e.path && (e.row.empty() ? x.line == 0 && x.row.empty() : x.row == e.row);
    });
    if (same != entries.end()) {
      changes.push_back({*same, "already excluded"});
      continue;
    }
    // An entry for the line by number alone, or one whose row left this line, gives way.
    std::erase_if(entries, [&](const Exclusion& x) { return x.path == e.path && e.line && x.line == e.line; });
    entries.push_back(e);
    changes.push_back({e, "excluded"});
  }
  if (std::any_of(changes.begin(), changes.end(), [](const ExclusionChange& c) { return c.action == "excluded"; }))
    write_entries(root, entries);
  return changes;
}

std::vector<ExclusionChange> include(const fs::path& root, const std::vector<ExclusionTarget>& targets) {
  std::vector<Exclusion> entries = read_entries(root);
  std::vector<ExclusionChange> changes;
  bool changed = false;
  for (const ExclusionTarget& t : targets) {
    std::string row;
    if (t.line && is_table_path(t.path)) {
      struct stat st;
      if (::lstat((root / t.path).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        const std::vector<ObjectId> ids = row_ids(root / t.path);
        if (t.line <= ids.size()) row = ids[t.line - 1].hex();
      }
      require_row(t, row);
    }
    const size_t before = changes.size();
    std::erase_if(entries, [&](const Exclusion& x) {
      const bool hit = x.path == t.path && (!t.line || (!row.empty() && x.row == row) || (x.line == t.line && x.row.empty()));
      if (hit) changes.push_back({x, "included"});
      return hit;
    });
    if (changes.size() == before) {
      Exclusion none;
      none.path = t.path;
      none.line = t.line;
      none.row = row;
      changes.push_back({none, "not excluded"});
    } else {
      changed = true;
    }
  }
  if (changed) write_entries(root, entries);
  return changes;
}

std::vector<ListedExclusion> list_exclusions(const fs::path& root) {
  std::vector<ListedExclusion> out;
  std::unordered_map<std::string, std::vector<ObjectId>> rows;
  for (Exclusion& e : read_entries(root)) {
    ListedExclusion l{std::move(e), {}};
    struct stat st;
    const bool present = ::lstat((root / l.entry.path).c_str(), &st) == 0 && S_ISREG(st.st_mode);
    if (present && is_table_path(l.entry.path) && l.entry.line) {
      auto it = rows.find(l.entry.path);
      if (it == rows.end()) it = rows.emplace(l.entry.path, row_ids(root / l.entry.path)).first;
      for (size_t i = 0; i < it->second.size(); ++i)
        if (l.entry.row.empty() ? i + 1 == l.entry.line : it->second[i].hex() == l.entry.row) l.lines_now.push_back(i + 1);
    } else if (present && !l.entry.line) {
      l.lines_now.push_back(0);
    }
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace kura
