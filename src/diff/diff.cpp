// kura diff: which files differ between two versions, then what differs
// inside each table (table_diff, row_diff) and image (images).
#include "kura/diff.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "diff/images.hpp"
#include "diff/labels.hpp"
#include "diff/row_diff.hpp"
#include "diff/table_diff.hpp"
#include "kura/error.hpp"
#include "kura/repo.hpp"
#include "util/fs.hpp"
#include "util/parallel.hpp"

namespace kura {

namespace {

using Files = std::map<std::string, FileEntry>;

bool same(const FileEntry& a, const FileEntry& b) {
  return a.mode == b.mode && a.pointer.kind == b.pointer.kind && a.pointer.file_sha == b.pointer.file_sha &&
         a.pointer.size == b.pointer.size;
}

// The commit a revision names; for HEAD before the first commit, "" (empty).
std::string commit_id(Repo& repo, const std::string& rev) {
  try {
    return repo.resolve(rev).id;
  } catch (const Error& e) {
    // HEAD itself cannot be missing: not found means no commit yet.
    if (rev == "HEAD" && e.code() == ErrorCode::kNotFound) return "";
    throw;
  }
}

Files to_map(std::vector<FileEntry> entries) {
  Files out;
  for (auto& e : entries) out.emplace(e.path, std::move(e));
  return out;
}

// Keeps of two full sides the files that differ.
void drop_same(Files all_old, Files all_new, Files& old_files, Files& new_files) {
  for (auto& [path, e] : all_old) {
    auto it = all_new.find(path);
    if (it != all_new.end() && same(e, it->second)) {
      all_new.erase(it);
      continue;
    }
    old_files.emplace(path, std::move(e));
  }
  new_files = std::move(all_new);
}

// The files of both sides that may differ, by path.
void changed_sides(Repo& repo, const std::string& from, const std::string& to, bool working, bool staged,
                   const std::vector<std::string>& specs, Files& old_files, Files& new_files) {
  if (working && staged) {
    // A commit against the index: entries are compared as stored, no file is read.
    drop_same(from.empty() ? Files{} : to_map(repo.ls_files(from, specs)), to_map(repo.ls_files("", specs)),
              old_files, new_files);
    return;
  }
  if (!working) {
    // Two commits: only the paths whose pointer blobs differ are read.
    for (const auto& c : repo.changes(from, to)) {
      if (!path_under_any(c.path, specs)) continue;
      if (!from.empty())
        if (auto f = repo.file_at(from, c.path)) old_files.emplace(c.path, std::move(*f));
      if (auto f = repo.file_at(to, c.path)) new_files.emplace(c.path, std::move(*f));
    }
    return;
  }
  Files all_old = from.empty() ? Files{} : to_map(repo.ls_files(from, specs));
  // Tracked files: in the index or in the commit compared with (git's rule).
  std::set<std::string> tracked;
  for (const auto& e : repo.ls_files("", specs)) tracked.insert(e.path);
  for (const auto& [path, e] : all_old) tracked.insert(path);
  drop_same(std::move(all_old), to_map(repo.working_files({tracked.begin(), tracked.end()})), old_files, new_files);
}

void add_totals(DiffTotals& t, const FileDiff& f) {
  switch (f.status) {
    case FileDiff::Status::kAdded: ++t.files_added; break;
    case FileDiff::Status::kDeleted: ++t.files_deleted; break;
    case FileDiff::Status::kRenamed: ++t.files_renamed; break;
    default: ++t.files_modified; break;
  }
  if (f.old_file) t.old_bytes += f.old_file->pointer.size;
  if (f.new_file) t.new_bytes += f.new_file->pointer.size;
  t.rows_added += f.stat.added;
  t.rows_removed += f.stat.removed;
  t.rows_modified += f.stat.modified;
  t.rows_moved += f.stat.moved;
  t.images_added += f.stat.images_added;
  t.images_removed += f.stat.images_removed;
  if (f.status != FileDiff::Status::kRenamed && !f.table) {
    bool old_img = f.old_file && f.old_file->pointer.kind == FileKind::kMedia && difflib::is_image_path(f.old_file->path);
    bool new_img = f.new_file && f.new_file->pointer.kind == FileKind::kMedia && difflib::is_image_path(f.new_file->path);
    if (old_img && !new_img) ++t.images_removed;
    if (new_img && !old_img) ++t.images_added;
    if (old_img && new_img && f.old_file->pointer.file_sha != f.new_file->pointer.file_sha)
      ++t.images_added, ++t.images_removed;
  }
}

std::optional<ObjectId> manifest(const std::optional<FileEntry>& f) {
  if (f && f->pointer.kind == FileKind::kTable) return f->pointer.object;
  return std::nullopt;
}

// Row contents of one table's changes (DiffDetail::kFull).
void describe_rows(const Store& store, FileDiff& f, difflib::ImageBook& book) {
  auto view = [&](const ObjectId& id) { return difflib::view_row(decode_row(store.read_object(id), id)); };
  for (auto& c : f.rows) {
    if (c.kind == RowChange::Kind::kModified) {
      difflib::compare_rows(view(c.old_row), view(c.new_row), c);
      for (auto& v : c.changes) {
        if (v.old_image) book.want(v.old_image->object);
        if (v.new_image) book.want(v.new_image->object);
      }
    } else if (c.kind != RowChange::Kind::kMoved) {
      difflib::RowView v = view(c.kind == RowChange::Kind::kAdded ? c.new_row : c.old_row);
      (c.kind == RowChange::Kind::kAdded ? c.new_json : c.old_json) = v.json;
      c.row = v.json ? v.value : nlohmann::json(v.text);
      c.text = std::move(v.text);
      for (const auto& id : v.images) {
        c.images.push_back(difflib::image_ref(id));
        book.want(id);
      }
    }
  }
}

void label_table(const std::string& path, const difflib::LabelCounts& a, const difflib::LabelCounts& b,
                 std::vector<TableLabels>& out) {
  TableLabels t{path, {}};
  std::set<std::string> all;
  for (const auto& [l, n] : a) all.insert(l);
  for (const auto& [l, n] : b) all.insert(l);
  for (const auto& l : all) {
    auto ia = a.find(l), ib = b.find(l);
    t.labels.push_back({l, ia == a.end() ? 0 : ia->second, ib == b.end() ? 0 : ib->second});
  }
  auto change = [](const LabelCount& c) { return std::abs(int64_t(c.new_count) - int64_t(c.old_count)); };
  std::stable_sort(t.labels.begin(), t.labels.end(), [&](const LabelCount& x, const LabelCount& y) {
    if (change(x) != change(y)) return change(x) > change(y);
    return std::max(x.old_count, x.new_count) > std::max(y.old_count, y.new_count);
  });
  out.push_back(std::move(t));
}

}  // namespace

const char* status_name(FileDiff::Status status) {
  switch (status) {
    case FileDiff::Status::kAdded: return "added";
    case FileDiff::Status::kDeleted: return "deleted";
    case FileDiff::Status::kModified: return "modified";
    case FileDiff::Status::kRenamed: return "renamed";
    case FileDiff::Status::kTypeChanged: return "typechange";
  }
  return "unknown";
}

const char* row_change_name(RowChange::Kind kind) {
  switch (kind) {
    case RowChange::Kind::kAdded: return "added";
    case RowChange::Kind::kRemoved: return "removed";
    case RowChange::Kind::kModified: return "modified";
    case RowChange::Kind::kMoved: return "moved";
  }
  return "unknown";
}

DiffReport diff(Repo& repo, const DiffOptions& options) {
  const unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  if (!options.key.empty() && options.key[0] != '/')
    fail(ErrorCode::kInvalidInput, "--key '" + options.key + "' is not a JSON pointer; write it like /id or /metadata/id");
  if (!options.label_field.empty() && options.label_field[0] != '/')
    fail(ErrorCode::kInvalidInput, "--label-field '" + options.label_field + "' is not a JSON pointer; write it like /label");
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::vector<std::string> specs;
  for (const auto& p : options.paths) specs.push_back(relative_to_root(repo.root(), cwd, p));

  DiffReport report;
  const bool working = options.to.empty();
  report.from = commit_id(repo, options.from);
  if (!working) report.to = repo.resolve(options.to).id;
  Files old_files, new_files;
  if (options.staged && !working)
    fail(ErrorCode::kInvalidInput, "--staged compares a commit with the index; give one revision, not two");
  report.staged = working && options.staged;
  changed_sides(repo, report.from, report.to, working, options.staged, specs, old_files, new_files);

  // Pair by path, then a deleted and an added file with the same bytes are a rename.
  std::vector<FileDiff> files;
  std::vector<const FileEntry*> gone, fresh;
  for (const auto& [path, e] : old_files) {
    auto it = new_files.find(path);
    if (it == new_files.end()) {
      gone.push_back(&e);
      continue;
    }
    if (same(e, it->second)) continue;
    FileDiff f;
    f.path = path;
    f.old_file = e;
    f.new_file = it->second;
    f.status = (e.pointer.kind == FileKind::kLink) != (it->second.pointer.kind == FileKind::kLink)
                   ? FileDiff::Status::kTypeChanged
                   : FileDiff::Status::kModified;
    files.push_back(std::move(f));
  }
  for (const auto& [path, e] : new_files)
    if (!old_files.count(path)) fresh.push_back(&e);
  std::multimap<std::pair<ObjectId, int>, const FileEntry*> gone_by_sha;
  for (const auto* e : gone) gone_by_sha.emplace(std::make_pair(e->pointer.file_sha, int(e->pointer.kind)), e);
  std::set<const FileEntry*> renamed;
  for (const auto* e : fresh) {
    FileDiff f;
    f.path = e->path;
    f.new_file = *e;
    f.status = FileDiff::Status::kAdded;
    auto it = gone_by_sha.find({e->pointer.file_sha, int(e->pointer.kind)});
    if (it != gone_by_sha.end()) {
      f.status = FileDiff::Status::kRenamed;
      f.old_path = it->second->path;
      f.old_file = *it->second;
      renamed.insert(it->second);
      gone_by_sha.erase(it);
    }
    files.push_back(std::move(f));
  }
  for (const auto* e : gone) {
    if (renamed.count(e)) continue;
    FileDiff f;
    f.path = e->path;
    f.old_file = *e;
    f.status = FileDiff::Status::kDeleted;
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(), [](const FileDiff& a, const FileDiff& b) { return a.path < b.path; });

  Store& store = repo.store();
  difflib::ImageBook book(store, repo.policy(), threads);
  if (options.detail != DiffDetail::kNames) {
    for (auto& f : files) {
      if (f.status == FileDiff::Status::kRenamed) continue;
      auto om = manifest(f.old_file), nm = manifest(f.new_file);
      if (!om && !nm) {
        if (options.detail == DiffDetail::kFull) {
          for (auto* side : {&f.old_file, &f.new_file}) {
            if (!*side || (*side)->pointer.kind != FileKind::kMedia || !difflib::is_image_path((*side)->path)) continue;
            (side == &f.old_file ? f.old_image : f.new_image) = difflib::image_ref((*side)->pointer.object);
            book.want((*side)->pointer.object);
          }
        }
        continue;
      }
      f.table = true;
      difflib::TableDiff t = difflib::diff_table(store, om, nm, options.key);
      f.stat = t.stat;
      // An added or deleted table is counted, not listed row by row.
      if (options.detail == DiffDetail::kFull && om && nm) {
        f.rows = std::move(t.rows);
        describe_rows(store, f, book);
      }
    }
  }
  if (options.detail == DiffDetail::kFull) {
    report.images_inspected = book.resolve();
    for (auto& f : files) {
      if (f.old_image) book.fill(*f.old_image);
      if (f.new_image) book.fill(*f.new_image);
      for (auto& c : f.rows) {
        for (auto& im : c.images) book.fill(im);
        for (auto& v : c.changes) {
          if (v.old_image) book.fill(*v.old_image);
          if (v.new_image) book.fill(*v.new_image);
          if (v.old_image && v.new_image) v.image_distance = difflib::image_distance(*v.old_image, *v.new_image);
        }
      }
    }
  }
  for (const auto& f : files) add_totals(report.totals, f);
  report.files = std::move(files);

  if (options.labels) {
    // Every table on either side, changed or not: drift is relative to the whole set.
    Files a = report.from.empty() ? Files{} : to_map(repo.ls_files(report.from, specs));
    Files b = a;  // the other side: the first, with every difference applied
    for (const auto& f : report.files) {
      if (f.old_file) b.erase(f.old_file->path);
      if (f.new_file) b[f.new_file->path] = *f.new_file;
    }
    std::set<std::string> paths;
    for (const auto& [p, e] : a)
      if (e.pointer.kind == FileKind::kTable) paths.insert(p);
    for (const auto& [p, e] : b)
      if (e.pointer.kind == FileKind::kTable) paths.insert(p);
    difflib::LabelCounts total_a, total_b;
    for (const auto& p : paths) {
      auto ia = a.find(p), ib = b.find(p);
      std::optional<FileEntry> ea, eb;
      if (ia != a.end()) ea = ia->second;
      if (ib != b.end()) eb = ib->second;
      difflib::LabelCounts ca, cb;
      difflib::count_labels(store, manifest(ea), manifest(eb), options.label_field, threads, ca, cb);
      for (const auto& [l, n] : ca) total_a[l] += n;
      for (const auto& [l, n] : cb) total_b[l] += n;
      label_table(p, ca, cb, report.labels);
    }
    if (paths.size() > 1) label_table("", total_a, total_b, report.labels);
  }
  return report;
}

}  // namespace kura
