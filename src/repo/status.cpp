// kura status: HEAD against the index (staged), the index against the working
// folder (unstaged), and files kura does not track (untracked).
#include <atomic>

#include "kura/error.hpp"
#include "repo/index.hpp"
#include "repo/merge_state.hpp"
#include "repo/repo_impl.hpp"
#include "util/worktree.hpp"
#include "util/fs.hpp"
#include "util/parallel.hpp"

namespace kura {

std::optional<UpstreamInfo> Repo::upstream(const std::string& branch) const {
  const Impl& I = *impl_;
  const auto remote = config("branch." + branch + ".remote");
  const auto merge = config("branch." + branch + ".merge");
  if (!remote || !merge || merge->rfind("refs/heads/", 0) != 0) return std::nullopt;
  UpstreamInfo u;
  u.name = *remote + "/" + merge->substr(11);
  const std::string ours = I.ref_target("refs/heads/" + branch);
  const std::string theirs = I.ref_target("refs/remotes/" + u.name);
  if (theirs.empty() || ours.empty()) {
    u.gone = theirs.empty();
    return u;
  }
  git_oid a = git::oid_from_hex(ours), b = git::oid_from_hex(theirs);
  size_t ahead = 0, behind = 0;
  git::check(git_graph_ahead_behind(&ahead, &behind, I.git.get(), &a, &b),
             "cannot compare '" + branch + "' with '" + u.name + "'");
  u.ahead = ahead, u.behind = behind;
  return u;
}

StatusReport Repo::status() {
  Impl& I = *impl_;
  Store& store = *I.store;
  StatusReport report;
  report.branch = current_branch();
  if (auto head = I.head_oid()) report.head = git::hex(*head);
  if (!report.branch.empty() && !report.head.empty())
    if (auto u = upstream(report.branch); u && !u->gone) {
      report.upstream = u->name;
      report.ahead = u->ahead, report.behind = u->behind;
    }
  if (auto m = read_merge_state(I.kura_dir)) {
    report.merging = true;
    report.merge_kind = m->state.kind;
    for (const auto& c : m->state.conflicts) report.merge_conflicts.push_back(c.path);
  }
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
        const git_oid staged = x->second.pointer_oid.size() == GIT_OID_HEXSZ ? git::oid_from_hex(x->second.pointer_oid)
                                                                             : git_oid{};
        if (!git_oid_equal(&h->second.oid, &staged) || h->second.mode != x->second.mode)
          report.staged.push_back({x->first, Change::kModified});
        ++h;
        ++x;
      }
    }
  }

  std::vector<WorkFile> work;
  work.reserve(index.size() + index.size() / 8 + 64);  // mostly the tracked files: grow once, if at all
  scan_worktree(I.root, "", IgnoreRules::load(I.root), work, nullptr);

  struct Pending {
    const FileEntry* entry;
    const WorkFile* file;
    ObjectId sha;
  };
  // The index, the working files and the stat cache are all sorted by path
  // (RocksDB orders keys bytewise, as std::string does): one merge pass pairs
  // index and working files, and one ordered scan of the stat cache (no copy
  // of it, no look-up per file) settles the files it vouches for.
  std::vector<Pending> pending;
  std::vector<Pending> present;  // tracked, in the folder, same kind: ask the stat cache
  present.reserve(index.size());
  auto w_it = work.begin();
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
    present.push_back({&entry, &w, {}});
  }
  while (w_it != work.end()) report.untracked.push_back((w_it++)->path);

  std::vector<char> settled(present.size(), 0);
  size_t at = 0;
  store.scan(Table::kStatCache, "", [&](std::string_view key, std::string_view value) {
    while (at < present.size() && present[at].entry->path < key) ++at;
    if (at == present.size()) return false;
    if (present[at].entry->path != key) return true;
    const Pending& p = present[at];
    auto cached = decode_cached(p.entry->path, value);
    if (cached && cached->stat == StatPrint::of(p.file->st) && cached->stat.mtime_ns < settled_before) {
      settled[at] = 1;
      if (cached->entry.pointer.file_sha != p.entry->pointer.file_sha || cached->entry.mode != p.entry->mode)
        report.unstaged.push_back({p.entry->path, Change::kModified});
    }
    ++at;
    return true;
  });
  for (size_t i = 0; i < present.size(); ++i)
    if (!settled[i]) pending.push_back(present[i]);

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
