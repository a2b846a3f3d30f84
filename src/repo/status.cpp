// kura status: HEAD against the index (staged), the index against the working
// folder (unstaged), and files kura does not track (untracked).
#include <atomic>

#include "kura/error.hpp"
#include "repo/index.hpp"
#include "repo/repo_impl.hpp"
#include "repo/worktree.hpp"
#include "util/fs.hpp"
#include "util/parallel.hpp"

namespace kura {

StatusReport Repo::status() {
  Impl& I = *impl_;
  Store& store = *I.store;
  StatusReport report;
  report.branch = current_branch();
  if (auto head = I.head_oid()) report.head = git::hex(*head);
  const int64_t settled_before = fs_now_ns(I.kura_dir / "tmp");

  const TreeFiles head = I.head_files();
  const auto index = load_index(store);
  {
    auto h = head.begin();
    auto x = index.begin();
    while (h != head.end() || x != index.end()) {
      if (x == index.end() || (h != head.end() && h->first < x->first)) {
        report.staged.push_back({h->first, Change::kDeleted});
        ++h;
      } else if (h == head.end() || x->first < h->first) {
        report.staged.push_back({x->first, Change::kAdded});
        ++x;
      } else {
        if (git::hex(h->second.oid) != x->second.pointer_oid || h->second.mode != x->second.mode)
          report.staged.push_back({x->first, Change::kModified});
        ++h;
        ++x;
      }
    }
  }

  std::vector<WorkFile> work;
  scan_worktree(I.root, "", IgnoreRules::load(I.root), work, nullptr);

  struct Pending {
    const FileEntry* entry;
    const WorkFile* file;
    ObjectId sha;
  };
  // One ordered scan of the stat cache beats a point look-up per file; the
  // index, the working files and the cache are all sorted by path (RocksDB
  // orders keys bytewise, as std::string does), so one merge pass pairs them.
  std::vector<std::pair<std::string, std::string>> cache;
  cache.reserve(index.size());
  store.scan(Table::kStatCache, "", [&](std::string_view k, std::string_view v) {
    cache.emplace_back(std::string(k), std::string(v));
    return true;
  });
  std::vector<Pending> pending;
  auto w_it = work.begin();
  auto c_it = cache.begin();
  for (const auto& [path, entry] : index) {
    while (w_it != work.end() && w_it->path < path) report.untracked.push_back((w_it++)->path);
    if (w_it == work.end() || w_it->path != path) {
      report.unstaged.push_back({path, Change::kDeleted});
      continue;
    }
    const WorkFile& w = *w_it++;
    const bool link = S_ISLNK(w.st.st_mode);
    if (link != (entry.pointer.kind == FileKind::kLink)) {
      report.unstaged.push_back({path, Change::kTypeChanged});
      continue;
    }
    while (c_it != cache.end() && c_it->first < path) ++c_it;
    auto cached = c_it != cache.end() && c_it->first == path ? decode_cached(path, c_it->second) : std::nullopt;
    if (cached && cached->stat == StatPrint::of(w.st) && cached->stat.mtime_ns < settled_before) {
      if (cached->entry.pointer.file_sha != entry.pointer.file_sha || cached->entry.mode != entry.mode)
        report.unstaged.push_back({path, Change::kModified});
      continue;
    }
    pending.push_back({&entry, &w, {}});
  }
  while (w_it != work.end()) report.untracked.push_back((w_it++)->path);

  std::atomic<uint64_t> done{0};
  parallel_for(
      pending.size(), I.threads(),
      [&](size_t k) {
        pending[k].sha = I.hash_file(pending[k].file->path, pending[k].file->st);
        ++done;
      },
      [&] { I.progress({"checking", done.load(), pending.size(), 0, 0}); });
  report.files_hashed = pending.size();

  TableBatch refresh;
  for (const auto& p : pending) {
    if (p.sha != p.entry->pointer.file_sha || git_mode(p.file->st) != p.entry->mode) {
      report.unstaged.push_back({p.entry->path, Change::kModified});
    } else if (ns(p.file->st.st_mtim) < settled_before) {
      // Same content, new stat (a touch, a copy): remember it so the next run skips the hash.
      refresh.put(Table::kStatCache, p.entry->path, encode_cached({StatPrint::of(p.file->st), *p.entry}));
    }
  }
  if (refresh.size()) store.write(refresh, Sync::kNo);
  std::sort(report.unstaged.begin(), report.unstaged.end(),
            [](const StatusEntry& a, const StatusEntry& b) { return a.path < b.path; });
  return report;
}

}  // namespace kura
