// kura add / kura rm: from the working folder into the index.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <set>

#include "kura/error.hpp"
#include "repo/index.hpp"
#include "repo/odb_backend.hpp"
#include "repo/repo_impl.hpp"
#include "util/worktree.hpp"
#include "util/fs.hpp"
#include "util/parallel.hpp"

namespace kura {

namespace fs = std::filesystem;

namespace {

bool any_under(const std::map<std::string, FileEntry>& index, const std::string& spec) {
  auto it = index.lower_bound(spec);
  return it != index.end() && path_under(it->first, spec);
}

// A path named on the command line must not reach through a symlinked folder.
void refuse_symlinked_parents(const fs::path& root, const std::string& spec, const std::string& given) {
  size_t pos = 0;
  while ((pos = spec.find('/', pos)) != std::string::npos) {
    struct stat st;
    if (::lstat((root / spec.substr(0, pos)).c_str(), &st) == 0 && S_ISLNK(st.st_mode))
      fail(ErrorCode::kInvalidInput, "'" + given + "' is inside the symlink '" + spec.substr(0, pos) +
                                         "'; kura stores links as links and does not follow them");
    ++pos;
  }
}

}  // namespace

AddResult Repo::add(const std::vector<std::string>& paths) {
  Impl& I = *impl_;
  Store& store = *I.store;
  if (paths.empty()) fail(ErrorCode::kInvalidInput, "nothing to add: name files or folders (e.g. 'kura add .')");
  // Files modified at or after this instant may change again within the same
  // clock tick: they are stored but not trusted to the stat cache.
  const int64_t settled_before = fs_now_ns(I.kura_dir / "tmp");
  const fs::path cwd = fs::current_path();
  const IgnoreRules rules = IgnoreRules::load(I.root);
  AddResult result;

  std::vector<std::string> specs;
  for (const auto& given : paths) {
    specs.push_back(relative_to_root(I.root, cwd, given));
    refuse_symlinked_parents(I.root, specs.back(), given);
  }
  // Only the part of the index that these paths can touch: adding one file
  // to a 100,000-file repository reads one entry, not 100,000.
  const auto index = load_index(store, specs);
  std::vector<WorkFile> work;
  for (size_t g = 0; g < paths.size(); ++g) {
    const std::string& given = paths[g];
    const std::string& spec = specs[g];
    const fs::path abs = spec.empty() ? I.root : I.root / spec;
    struct stat st;
    if (::lstat(abs.c_str(), &st) != 0) {
      if (errno != ENOENT && errno != ENOTDIR) fail_errno("read", given);
      if (!any_under(index, spec))
        fail(ErrorCode::kNotFound, "'" + given + "' does not exist and nothing under it is tracked");
    } else {
      scan_worktree(I.root, spec, rules, work, &result.skipped);
    }
  }
  std::sort(work.begin(), work.end(), [](const WorkFile& a, const WorkFile& b) { return a.path < b.path; });
  work.erase(std::unique(work.begin(), work.end(),
                         [](const WorkFile& a, const WorkFile& b) { return a.path == b.path; }),
             work.end());

  // The stat cache answers for files that have not changed since kura read them.
  std::vector<FileEntry> entries(work.size());
  std::vector<std::string> blobs(work.size());
  std::vector<struct stat> stats(work.size());
  std::vector<size_t> todo;
  std::vector<char> hashed(work.size(), 0);
  uint64_t bytes_total = 0;
  for (size_t i = 0; i < work.size(); ++i) {
    stats[i] = work[i].st;
    auto cached_bytes = store.get(Table::kStatCache, work[i].path);
    auto cached = cached_bytes ? decode_cached(work[i].path, *cached_bytes) : std::nullopt;
    if (cached && cached->stat == StatPrint::of(work[i].st) && cached->stat.mtime_ns < settled_before &&
        store.has_object(cached->entry.pointer.object) &&
        store.get(Table::kGit, git::raw(git::oid_from_hex(cached->entry.pointer_oid)))) {
      entries[i] = cached->entry;
    } else {
      todo.push_back(i);
      hashed[i] = 1;
      bytes_total += static_cast<uint64_t>(work[i].st.st_size);
    }
  }

  const uint64_t written_before = store.counters().objects_written;
  const uint64_t bytes_before = store.counters().bytes_written;
  std::atomic<uint64_t> done{0}, bytes_done{0}, images{0};
  parallel_for(
      todo.size(), I.threads(),
      [&](size_t k) {
        size_t i = todo[k];
        uint64_t cut = 0;
        entries[i] = I.store_file(work[i].path, &blobs[i], &stats[i], &cut);
        images += cut;
        bytes_done += entries[i].pointer.size;
        ++done;
      },
      [&] { I.progress({"adding", done.load(), todo.size(), bytes_done.load(), bytes_total}); });
  store.sync_objects();  // objects before the index that names them

  TableBatch batch;
  std::set<std::string> erased;
  for (size_t i = 0; i < work.size(); ++i) {
    const FileEntry& e = entries[i];
    if (hashed[i]) {
      git_oid oid = git::oid_from_hex(e.pointer_oid);
      batch.put(Table::kGit, git::raw(oid), encode_git_value(GIT_OBJECT_BLOB, blobs[i]));
      if (ns(stats[i].st_mtim) < settled_before)
        batch.put(Table::kStatCache, e.path, encode_cached({StatPrint::of(stats[i]), e}));
    }
    auto old = index.find(e.path);
    if (old == index.end() || encode_entry(old->second) != encode_entry(e)) {
      batch.put(Table::kIndex, e.path, encode_entry(e));
      ++result.files_added;
    } else {
      ++result.files_unchanged;
    }
    if (e.pointer.kind == FileKind::kTable) result.rows += e.pointer.rows;
    // A file where a tracked folder was, or inside what was a tracked file.
    for (size_t pos = e.path.find('/'); pos != std::string::npos; pos = e.path.find('/', pos + 1)) {
      std::string parent = e.path.substr(0, pos);
      if (index.count(parent) && erased.insert(parent).second) {
        batch.erase(Table::kIndex, parent);
        ++result.files_removed;
      }
    }
  }
  std::set<std::string> present;
  for (const auto& w : work) present.insert(w.path);
  for (const auto& spec : specs) {
    for (auto it = index.lower_bound(spec); it != index.end() && path_under(it->first, spec); ++it) {
      if (present.count(it->first) || !erased.insert(it->first).second) continue;
      batch.erase(Table::kIndex, it->first);
      batch.erase(Table::kStatCache, it->first);
      ++result.files_removed;
    }
  }
  store.write(batch, Sync::kYes);

  result.files_hashed = todo.size();
  result.images = images.load();
  result.bytes_hashed = bytes_done.load();
  result.objects_written = store.counters().objects_written - written_before;
  result.bytes_written = store.counters().bytes_written - bytes_before;
  return result;
}

uint64_t Repo::remove(const std::vector<std::string>& paths, bool cached) {
  Impl& I = *impl_;
  Store& store = *I.store;
  const fs::path cwd = fs::current_path();
  const auto index = load_index(store);
  std::vector<const FileEntry*> victims;
  for (const auto& given : paths) {
    std::string spec = relative_to_root(I.root, cwd, given);
    size_t before = victims.size();
    for (auto it = index.lower_bound(spec); it != index.end() && path_under(it->first, spec); ++it)
      victims.push_back(&it->second);
    if (victims.size() == before) fail(ErrorCode::kNotFound, "'" + given + "' is not tracked");
  }
  if (!cached) {
    for (const FileEntry* e : victims) {
      struct stat st;
      if (::lstat((I.root / e->path).c_str(), &st) != 0) continue;
      if (S_ISDIR(st.st_mode) || I.hash_file(e->path, st) != e->pointer.file_sha)
        fail(ErrorCode::kConflict, "'" + e->path + "' has changes that are not staged; "
                                   "add it first, or use --cached to keep the file and only untrack it");
    }
  }
  TableBatch batch;
  for (const FileEntry* e : victims) {
    batch.erase(Table::kIndex, e->path);
    batch.erase(Table::kStatCache, e->path);
  }
  store.write(batch, Sync::kYes);
  if (!cached) {
    // Already untracked: a leftover file shows as untracked.
    for (const FileEntry* e : victims) remove_with_empty_parents(I.root, e->path);
  }
  return victims.size();
}

}  // namespace kura
