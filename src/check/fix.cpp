// fix_images (fix.hpp): what kura check reports on images, repaired and
// written back into the working folder.
#include "kura/fix.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include "check/fix_image.hpp"
#include "check/fix_rows.hpp"
#include "check/image_rules.hpp"
#include "check/row_check.hpp"
#include "kura/error.hpp"
#include "kura/object_id.hpp"
#include "kura/objects.hpp"
#include "objects/paths.hpp"
#include "util/base64.hpp"
#include "util/fs.hpp"
#include "util/worktree.hpp"

namespace kura {

namespace fs = std::filesystem;

namespace {

using check::format_label;
using check::Outcome;
using check::StringSpot;
using ojson = nlohmann::ordered_json;

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

std::string base_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// A JSONL file of the folder: its text, read when first needed, and its lines.
struct JsonlFile {
  std::string path;
  mode_t mode = 0644;
  bool selected = false;  // under the paths given: its inline images are fixed
  bool loaded = false;
  std::string text;
  std::vector<std::pair<size_t, size_t>> lines;  // [begin, end) without the line break
  std::vector<std::pair<StringSpot, std::string>> edits;  // absolute offsets -> new string literal
};

void load(const fs::path& root, JsonlFile& t) {
  if (t.loaded) return;
  t.text = std::string(MappedFile(root / t.path).bytes());
  for (size_t begin = 0; begin < t.text.size();) {
    size_t nl = t.text.find('\n', begin);
    const size_t next = nl == std::string::npos ? t.text.size() : nl + 1;
    size_t end = nl == std::string::npos ? t.text.size() : nl;
    if (nl != std::string::npos && end > begin && t.text[end - 1] == '\r') --end;
    t.lines.emplace_back(begin, end);
    begin = next;
  }
  t.loaded = true;
}

// The image URL strings of a chat row, as the row checks find them.
struct UrlUse {
  int message_index, content_index;
  std::string pointer;
};

std::vector<UrlUse> image_urls(const ojson& row) {
  std::vector<UrlUse> out;
  if (!row.is_object() || !row.contains("messages") || !row["messages"].is_array()) return out;
  const ojson& messages = row["messages"];
  for (size_t m = 0; m < messages.size(); ++m) {
    const ojson& msg = messages[m];
    if (!msg.is_object() || !msg.contains("content") || !msg["content"].is_array()) continue;
    const ojson& content = msg["content"];
    for (size_t c = 0; c < content.size(); ++c) {
      const ojson& part = content[c];
      if (!part.is_object() || part.value("type", ojson()) != "image_url" || !part.contains("image_url")) continue;
      const ojson& iu = part["image_url"];
      const std::string base = "/messages/" + std::to_string(m) + "/content/" + std::to_string(c) + "/image_url";
      if (iu.is_object() && iu.contains("url") && iu["url"].is_string())
        out.push_back({int(m), int(c), base + "/url"});
      else if (iu.is_string())
        out.push_back({int(m), int(c), base});
    }
  }
  return out;
}

const std::string& string_at(const ojson& j, const std::string& pointer) {
  return j.at(ojson::json_pointer(pointer)).get_ref<const std::string&>();
}

bool is_data_url(const std::string& u) { return u.rfind("data:", 0) == 0; }
bool is_remote(const std::string& u) { return u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0; }

// A renamed image file: where it goes, and what it was fixed for.
struct Rename {
  std::string to;
  std::vector<std::string> rules;
};

struct Fixer {
  const fs::path& root;
  const Policy& policy;
  FixReport& report;
  std::unordered_map<ObjectId, Outcome, ObjectIdHash> outcomes;

  const Outcome& outcome_of(std::string_view bytes) {
    const ObjectId id = sha256(bytes);
    auto it = outcomes.find(id);
    if (it == outcomes.end()) it = outcomes.emplace(id, check::decide(bytes, policy)).first;
    return it->second;
  }

  void skip(const std::string& path, uint64_t line, int m, int c, const std::string& reason) {
    report.skipped.push_back({path, line, m, c, reason});
  }

  // The inline images of line `n` of `t`, which starts at `offset` in its text.
  void fix_inline(JsonlFile& t, uint64_t n, size_t offset, const check::LocatedLine& row) {
    for (const UrlUse& use : image_urls(row.json)) {
      const std::string& url = string_at(row.json, use.pointer);
      if (!is_data_url(url)) continue;
      const size_t semi = url.find(";base64,");
      if (url.rfind("data:image/", 0) != 0 || semi == std::string::npos) continue;  // image.bad_base64: not ours
      const std::string declared = url.substr(11, semi - 11);
      const auto bytes = check::lenient_base64(std::string_view(url).substr(semi + 8));
      if (!bytes) continue;
      const Outcome& o = outcome_of(*bytes);
      if (!o.skipped.empty()) {
        skip(t.path, n, use.message_index, use.content_index, o.skipped);
        continue;
      }
      FixChange change{t.path, "", n, use.message_index, use.content_index, o.rules, o.what, bytes->size(), 0};
      // The data URL names the format of the image it ends up holding.
      std::string type = declared;
      if (check::normalise_subtype(declared) != o.format) {
        const bool wrong_before = check::normalise_subtype(declared) != o.original_format;
        if (o.rules.empty() && policy.action("image.mime_mismatch") == RuleAction::kOff) continue;
        type = o.format;
        const std::string said = "data URL type image/" + declared + " -> image/" + type;
        change.what = o.rules.empty() ? said : o.what + ", " + said;
        if (wrong_before) change.rules.push_back("image.mime_mismatch");
      }
      if (o.rules.empty() && type == declared) continue;
      std::string fixed = "data:image/" + type + ";base64,";
      if (o.rules.empty()) {
        fixed.append(url, semi + 8);  // the same image: its payload as written
        change.bytes_after = bytes->size();
      } else {
        base64_append(o.repaired.bytes, fixed);
        change.bytes_after = o.repaired.bytes.size();
      }
      const StringSpot spot = row.strings.at(use.pointer);
      t.edits.push_back({{offset + spot.begin, offset + spot.end}, check::json_string(fixed)});
      report.changes.push_back(std::move(change));
    }
  }

  // Path references of line `n` of `t` to renamed images.
  void rewrite_paths(JsonlFile& t, uint64_t n, size_t offset, const check::LocatedLine& row,
                     const std::map<std::string, Rename>& renames) {
    auto edit = [&](const std::string& pointer, const std::string& from, const std::string& to, int m, int c,
                    const Rename& r) {
      const StringSpot spot = row.strings.at(pointer);
      t.edits.push_back({{offset + spot.begin, offset + spot.end}, check::json_string(to)});
      report.changes.push_back({t.path, "", n, m, c, r.rules, "image path '" + from + "' -> '" + to + "'", 0, 0});
    };
    if (t.path == kExclusionsFile) {
      if (row.json.is_object() && row.json.contains("path") && row.json["path"].is_string()) {
        auto it = renames.find(row.json["path"].get<std::string>());
        if (it != renames.end()) edit("/path", it->first, it->second.to, -1, -1, it->second);
      }
      return;
    }
    for (const UrlUse& use : image_urls(row.json)) {
      const std::string& ref = string_at(row.json, use.pointer);
      if (is_data_url(ref) || is_remote(ref)) continue;
      const auto target = check::resolve_path(dir_of(t.path), ref);
      if (!target) continue;
      auto it = renames.find(*target);
      if (it == renames.end()) continue;
      const std::string old_base = base_of(it->first), new_base = base_of(it->second.to);
      if (ref.size() < old_base.size() || ref.compare(ref.size() - old_base.size(), old_base.size(), old_base) != 0) {
        skip(t.path, n, use.message_index, use.content_index,
             "the image path '" + ref + "' names " + it->first + ", renamed to " + it->second.to +
                 ", but does not end in its name; rewrite it by hand");
        continue;
      }
      edit(use.pointer, ref, ref.substr(0, ref.size() - old_base.size()) + new_base, use.message_index,
           use.content_index, it->second);
    }
  }
};

void sort_edits(JsonlFile& t) {
  std::sort(t.edits.begin(), t.edits.end(), [](const auto& a, const auto& b) { return a.first.begin < b.first.begin; });
}

// The text of `t` from `from` to `to` with its edits there applied (edits sorted).
std::string apply_edits(const JsonlFile& t, size_t from, size_t to) {
  auto it = std::lower_bound(t.edits.begin(), t.edits.end(), from,
                             [](const auto& e, size_t at) { return e.first.begin < at; });
  std::string out;
  out.reserve(to - from);
  size_t at = from;
  for (; it != t.edits.end() && it->first.begin < to; ++it) {
    assert(it->first.begin >= at && it->first.end <= to);
    out.append(t.text, at, it->first.begin - at);
    out += it->second;
    at = it->first.end;
  }
  out.append(t.text, at, to - at);
  return out;
}

// Hand exclusions follow their rows: an entry naming the row of a line that
// kura fix changed names the line's new row (the id of the line as stored,
// docs/checks.md "Exclusions"), so it does not turn stale.
void follow_rows(const fs::path& root, std::vector<JsonlFile>& tables, Fixer& fixer) {
  std::map<std::pair<std::string, std::string>, std::string> moved;  // (path, old row hex) -> new row hex
  JsonlFile* exclusions = nullptr;
  for (JsonlFile& t : tables) {
    if (t.path == kExclusionsFile) {
      exclusions = &t;
      continue;
    }
    if (t.edits.empty()) continue;
    sort_edits(t);
    for (const auto& [begin, end] : t.lines) {
      auto it = std::lower_bound(t.edits.begin(), t.edits.end(), begin,
                                 [](const auto& e, size_t at) { return e.first.begin < at; });
      if (it == t.edits.end() || it->first.begin >= end) continue;
      std::vector<std::string> images_before, images_after;  // decoded by split_row; not needed
      const std::string before(t.text, begin, end - begin), after = apply_edits(t, begin, end);
      moved[{t.path, sha256(encode_row(split_row(before, &images_before))).hex()}] =
          sha256(encode_row(split_row(after, &images_after))).hex();
    }
  }
  if (!exclusions || moved.empty()) return;
  load(root, *exclusions);
  for (size_t i = 0; i < exclusions->lines.size(); ++i) {
    const auto [begin, end] = exclusions->lines[i];
    std::string why;
    auto entry = check::locate_strings(std::string_view(exclusions->text).substr(begin, end - begin), &why);
    if (!entry || !entry->json.is_object() || !entry->json.contains("path") || !entry->json.contains("row") ||
        !entry->json["path"].is_string() || !entry->json["row"].is_string())
      continue;
    const std::string path = entry->json["path"].get<std::string>(), row = entry->json["row"].get<std::string>();
    auto it = moved.find({path, row});
    if (it == moved.end()) continue;
    const StringSpot spot = entry->strings.at("/row");
    exclusions->edits.push_back({{begin + spot.begin, begin + spot.end}, check::json_string(it->second)});
    fixer.report.changes.push_back({kExclusionsFile, "", i + 1, -1, -1, {"curation.stale_exclusion"},
                                    "the exclusion follows its row in " + path + ": row " + row.substr(0, 12) +
                                        " -> " + it->second.substr(0, 12),
                                    0, 0});
  }
}

}  // namespace

std::string FixChange::where() const {
  std::string out = path;
  if (line) out += ":" + std::to_string(line);
  if (message_index >= 0) out += " message " + std::to_string(message_index);
  if (content_index >= 0) out += " part " + std::to_string(content_index);
  return out;
}

nlohmann::json FixReport::to_json() const {
  nlohmann::json changes_json = nlohmann::json::array(), skipped_json = nlohmann::json::array();
  auto place = [](nlohmann::json& j, uint64_t line, int m, int c) {
    if (line) j["line"] = line;
    if (m >= 0) j["message_index"] = m;
    if (c >= 0) j["content_index"] = c;
  };
  for (const FixChange& c : changes) {
    nlohmann::json j = {{"path", c.path}};
    if (!c.new_path.empty()) j["new_path"] = c.new_path;
    place(j, c.line, c.message_index, c.content_index);
    j["rules"] = c.rules;
    j["what"] = c.what;
    if (c.bytes_before) j["bytes_before"] = c.bytes_before;
    if (c.bytes_after) j["bytes_after"] = c.bytes_after;
    changes_json.push_back(j);
  }
  for (const FixSkipped& s : skipped) {
    nlohmann::json j = {{"path", s.path}};
    place(j, s.line, s.message_index, s.content_index);
    j["reason"] = s.reason;
    skipped_json.push_back(j);
  }
  return {{"dry_run", dry_run}, {"changes", changes_json}, {"skipped", skipped_json},
          {"written", written}, {"removed", removed}};
}

FixReport fix_images(const fs::path& root, const fs::path& cwd, const std::vector<std::string>& paths,
                     const FixOptions& options) {
  const Policy& policy = options.policy;
  FixReport report;
  report.dry_run = options.dry_run;
  std::vector<std::string> specs;
  for (const auto& given : paths) {
    const std::string spec = relative_to_root(root, cwd, given);
    struct stat st;
    if (::lstat((spec.empty() ? root : root / spec).c_str(), &st) != 0)
      fail(ErrorCode::kNotFound, "'" + given + "' does not exist");
    specs.push_back(spec);
  }
  if (std::find(specs.begin(), specs.end(), "") != specs.end()) specs.clear();  // the whole folder

  std::vector<WorkFile> all;
  scan_worktree(root, "", IgnoreRules::load(root), all, nullptr);
  std::map<std::string, mode_t> regular;  // every regular file, with its permission bits
  std::vector<JsonlFile> tables;
  std::set<std::string> images;  // image files to look at
  for (const WorkFile& w : all) {
    if (!S_ISREG(w.st.st_mode)) continue;  // links are not followed, as by the checks
    regular.emplace(w.path, w.st.st_mode & 07777);
    const bool selected = path_under_any(w.path, specs);
    if (is_table_path(w.path)) {
      JsonlFile t;
      t.path = w.path;
      t.mode = w.st.st_mode & 07777;
      t.selected = selected && w.path != kExclusionsFile;
      tables.push_back(std::move(t));
    } else if (selected && check::image_extension(w.path)) {
      images.insert(w.path);
    }
  }

  Fixer fixer{root, policy, report, {}};
  // Inline images of the selected tables, and the files their rows name.
  for (JsonlFile& t : tables) {
    if (!t.selected) continue;
    load(root, t);
    for (size_t i = 0; i < t.lines.size(); ++i) {
      const auto [begin, end] = t.lines[i];
      const std::string_view line(t.text.data() + begin, end - begin);
      if (line.find("image_url") == std::string_view::npos) continue;
      std::string why;
      auto row = check::locate_strings(line, &why);
      if (!row) {
        if (line.find("data:image/") != std::string_view::npos)
          fixer.skip(t.path, i + 1, -1, -1, "the line is not changed: " + why);
        continue;
      }
      fixer.fix_inline(t, i + 1, begin, *row);
      for (const UrlUse& use : image_urls(row->json)) {
        const std::string& ref = string_at(row->json, use.pointer);
        if (is_data_url(ref) || is_remote(ref)) continue;
        if (auto target = check::resolve_path(dir_of(t.path), ref); target && regular.count(*target))
          images.insert(*target);
      }
    }
  }

  // Image files: repaired in place, or under a new name for a new format.
  std::map<std::string, Rename> renames;       // old path -> new
  std::map<std::string, std::string> taken_by;  // new path -> old path
  struct Written {
    std::string path;
    const std::string* bytes;
    mode_t mode;
  };
  std::vector<Written> image_writes;
  for (const std::string& path : images) {
    const MappedFile file(root / path);
    const Outcome& o = fixer.outcome_of(file.bytes());
    if (!o.skipped.empty()) {
      fixer.skip(path, 0, -1, -1, o.skipped);
      continue;
    }
    if (o.rules.empty()) continue;
    const std::string target = o.format == o.original_format ? path : check::name_for(path, o.format);
    if (target != path) {
      struct stat st;
      if (::lstat((root / target).c_str(), &st) == 0)
        fail(ErrorCode::kConflict, "cannot rename " + path + " to " + target + " (its new format, " +
                                       format_label(o.format) + "): " + target +
                                       " already exists; move one of them and run kura fix again (nothing was changed)");
      if (auto [it, fresh] = taken_by.emplace(target, path); !fresh)
        fail(ErrorCode::kConflict, "both " + it->second + " and " + path + " would become " + target +
                                       "; rename one of them and run kura fix again (nothing was changed)");
      renames[path] = {target, o.rules};
    }
    report.changes.push_back({path, target == path ? "" : target, 0, -1, -1, o.rules, o.what, file.bytes().size(),
                              o.repaired.bytes.size()});
    image_writes.push_back({target, &o.repaired.bytes, regular[path]});
  }

  // Rows that name a renamed file, in every JSONL file of the folder.
  if (!renames.empty()) {
    std::vector<std::string> names;
    for (const auto& [from, r] : renames) names.push_back(base_of(from));
    for (JsonlFile& t : tables) {
      load(root, t);
      for (size_t i = 0; i < t.lines.size(); ++i) {
        const auto [begin, end] = t.lines[i];
        const std::string_view line(t.text.data() + begin, end - begin);
        if (std::none_of(names.begin(), names.end(), [&](const std::string& n) { return line.find(n) != line.npos; }))
          continue;
        std::string why;
        auto row = check::locate_strings(line, &why);
        if (!row) {
          fixer.skip(t.path, i + 1, -1, -1, "the line may name a renamed image, but is not changed: " + why);
          continue;
        }
        fixer.rewrite_paths(t, i + 1, begin, *row, renames);
      }
    }
  }

  follow_rows(root, tables, fixer);
  for (JsonlFile& t : tables) sort_edits(t);

  auto order = [](const auto& a, const auto& b) {
    return std::tie(a.path, a.line, a.message_index, a.content_index) <
           std::tie(b.path, b.line, b.message_index, b.content_index);
  };
  std::stable_sort(report.changes.begin(), report.changes.end(), order);
  std::stable_sort(report.skipped.begin(), report.skipped.end(), order);
  for (const Written& w : image_writes) report.written.push_back(w.path);
  for (const JsonlFile& t : tables)
    if (!t.edits.empty()) report.written.push_back(t.path);
  std::sort(report.written.begin(), report.written.end());
  for (const auto& [from, r] : renames) report.removed.push_back(from);
  if (options.dry_run) return report;

  // New image files first, then the rows that name them, then the old
  // files: a crash at any point leaves every row naming a file that exists.
  for (const Written& w : image_writes) write_file_atomic(root / w.path, *w.bytes, w.mode);
  for (const JsonlFile& t : tables)
    if (!t.edits.empty()) write_file_atomic(root / t.path, apply_edits(t, 0, t.text.size()), t.mode);
  for (const auto& [from, r] : renames) {
    if (::unlink((root / from).c_str()) != 0) fail_errno("cannot remove the renamed image", (root / from).string());
    sync_dir((root / from).parent_path());
  }
  return report;
}

}  // namespace kura
