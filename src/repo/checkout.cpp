// kura checkout / kura switch: commits back into the working folder.
// Everything is validated before the first byte is written: paths from a
// commit (maybe someone else's) must stay inside the working folder, and
// local changes are never overwritten without --force.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <set>

#include "kura/error.hpp"
#include "repo/index.hpp"
#include "repo/journal.hpp"
#include "repo/merge_state.hpp"
#include "repo/repo_impl.hpp"
#include "util/fs.hpp"
#include "util/parallel.hpp"

namespace kura {

namespace fs = std::filesystem;

namespace {

bool same(const TreeFile* a, const TreeFile* b) {
  if (!a || !b) return a == b;
  return a->mode == b->mode && git_oid_equal(&a->oid, &b->oid);
}

const TreeFile* find(const TreeFiles& files, const std::string& path) {
  auto it = files.find(path);
  return it == files.end() ? nullptr : &it->second;
}

std::string list(const std::vector<std::string>& paths) {
  std::string out;
  for (size_t i = 0; i < paths.size() && i < 10; ++i) out += (i ? ", " : "") + paths[i];
  if (paths.size() > 10) out += " and " + std::to_string(paths.size() - 10) + " more";
  return out;
}

}  // namespace

// Writes `files` (already validated) into the working folder and returns
// their index entries with the stat of what was written.
static std::vector<CachedEntry> write_files(Repo& repo, Repo::Impl& I, const std::vector<FileEntry>& files,
                                            CheckoutResult& result,
                                            const std::map<std::string, CheckoutRun::Prepared>& prepared = {}) {
  fs::path made;  // files come in path order: a folder's files are together
  for (const auto& f : files) {
    const fs::path parent = (I.root / f.path).parent_path();
    std::error_code ec;
    if (parent != made) fs::create_directories(parent, ec);
    made = parent;
    if (ec) fail(ErrorCode::kConflict, "cannot create the folder for '" + f.path + "': " + ec.message() +
                                           " (a file may be in the way)");
    struct stat st;
    if (::lstat((I.root / f.path).c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      fail(ErrorCode::kConflict, "cannot write '" + f.path + "': a folder is in the way");
  }
  std::vector<CachedEntry> written(files.size());
  std::atomic<uint64_t> done{0}, bytes{0};
  parallel_for(
      files.size(), I.threads(),
      [&](size_t i) {
        const FileEntry& f = files[i];
        const fs::path abs = I.root / f.path;
        if (f.pointer.kind == FileKind::kLink) {
          std::string target = I.store->read_object(f.pointer.object);
          const fs::path tmp = abs.parent_path() / temporary_name();
          if (::symlink(target.c_str(), tmp.c_str()) != 0) fail_errno("create link", f.path);
          if (rename_file(tmp.c_str(), abs.c_str()) != 0) {
            std::ignore = ::unlink(tmp.c_str());  // best effort: garbage now
            fail_errno("create link", f.path);
          }
        } else {
          // Nameless until complete, or named only in .kura/tmp/: a kill
          // leaves nothing in the working folder, and a 255-byte name stays legal.
          // Made durable below, all at once, before the index names it.
          const mode_t mode = f.mode == 0100755 ? 0755 : 0644;
          auto ready = prepared.find(f.path);
          if (ready != prepared.end() && ready->second.file_sha == f.pointer.file_sha &&
              ready->second.file->path() == abs && ready->second.file->size() == f.pointer.size)
            ready->second.file->publish(mode, Durable::kLater);
          else
            write_file_atomic(abs, mode, I.kura_dir / "tmp", Durable::kLater,
                              [&](const auto& write) { repo.read_file(f, write); });
        }
        struct stat st;
        if (::lstat(abs.c_str(), &st) != 0) fail_errno("stat", f.path);
        written[i] = {StatPrint::of(st), f};
        bytes += f.pointer.size;
        ++done;
      },
      [&] { I.progress({"checking out", done.load(), files.size(), bytes.load(), 0}); });
  // Every byte and name on disk before the caller's index batch says the
  // files are written: one syncfs per file system, not an fsync per file.
  // A crash before it leaves the journal, and the next command writes them again.
  if (!files.empty()) {
    std::vector<fs::path> paths;
    std::set<dev_t> seen;
    for (const auto& w : written)
      if (seen.insert(static_cast<dev_t>(w.stat.dev)).second) paths.push_back(I.root / w.entry.path);
    sync_file_systems(paths);
  }
  result.files_written += files.size();
  result.bytes_written += bytes.load();
  return written;
}

namespace {

// Where HEAD goes when a checkout of `rev` is done: "refs/heads/NAME" when
// rev names a local branch, "" (detached at the commit) otherwise.
std::string head_after(git_repository* repo, const std::string& rev) {
  git_reference* branch = nullptr;
  if (git_branch_lookup(&branch, repo, rev.c_str(), GIT_BRANCH_LOCAL) != 0) return "";
  git::Reference owner(branch);
  return git_reference_name(branch);
}

}  // namespace

// The work of checkout(), from a resolved commit. `specs` are repository-
// relative (paths mode) or empty; `head` is where HEAD goes, nullopt to
// leave it. `resume` is recovery finishing an interrupted checkout
// (src/repo/recover.cpp): the files it already wrote look like local changes,
// so the local-change check (done before the first write) is not repeated.
CheckoutResult run_checkout(Repo& repo, Repo::Impl& I, const std::string& commit_hex, const CheckoutRun& run) {
  Store& store = *I.store;
  CheckoutResult result;
  result.commit = commit_hex;
  const TreeFiles target = I.flatten_rev(commit_hex);
  for (const auto& [path, file] : target) check_tree_path(path);
  const auto index = load_index(store);
  const bool need_status = !run.resume || run.force;
  const StatusReport local = need_status ? repo.status() : StatusReport{};
  std::set<std::string> changed_locally;
  for (const auto& s : local.staged) changed_locally.insert(s.path);
  std::set<std::string> unstaged, unsaved;  // unsaved: changed bytes, not a deletion (nothing to lose)
  for (const auto& s : local.unstaged) {
    unstaged.insert(s.path);
    if (s.change != Change::kDeleted) unsaved.insert(s.path);
  }
  changed_locally.insert(unstaged.begin(), unstaged.end());
  const std::set<std::string> untracked(local.untracked.begin(), local.untracked.end());
  const bool check_conflicts = !run.force && !run.resume;

  std::vector<FileEntry> to_write;
  std::vector<std::string> to_remove, conflicts;
  TableBatch batch;

  if (!run.specs.empty()) {
    // Restore paths from the commit into the working folder and the index; HEAD stays.
    for (size_t k = 0; k < run.specs.size(); ++k) {
      const std::string& spec = run.specs[k];
      size_t before = to_write.size();
      for (auto it = target.lower_bound(spec); it != target.end() && path_under(it->first, spec); ++it) {
        // Staged content is safe in the store; only unsaved work is protected.
        if (check_conflicts && (unsaved.count(it->first) || untracked.count(it->first)))
          conflicts.push_back(it->first);
        to_write.push_back(I.entry_of(it->first, it->second));
      }
      if (to_write.size() == before)
        fail(ErrorCode::kNotFound, "'" + (k < run.given.size() ? run.given[k] : spec) + "' is not in " +
                                       (run.rev.empty() ? commit_hex : run.rev));
    }
  } else {
    const TreeFiles head = I.head_files();
    std::set<std::string> paths;
    for (const auto& [p, f] : head) paths.insert(p);
    for (const auto& [p, f] : target) paths.insert(p);
    for (const auto& [p, f] : index) paths.insert(p);
    for (const auto& path : paths) {
      const TreeFile* h = find(head, path);
      const TreeFile* t = find(target, path);
      const bool moves = !same(h, t);
      const bool dirty = changed_locally.count(path) > 0;
      if (moves && (dirty || (!h && t && untracked.count(path))) && check_conflicts) conflicts.push_back(path);
      if (t && (moves || (run.force && dirty))) to_write.push_back(I.entry_of(path, *t));
      if (!t && h) to_remove.push_back(path);
      // A staged new file that neither commit has: --force unstages it and
      // leaves the file (untracked); without --force it stays staged.
      // reset --hard removes it, as git does (its bytes stay in the store until gc).
      if (!t && !h && run.force && index.count(path)) {
        batch.erase(Table::kIndex, path);
        if (run.remove_staged_new) to_remove.push_back(path);
      }
    }
    // A file of the target inside what is an untracked file here.
    for (const auto& [path, file] : target)
      for (size_t pos = path.find('/'); pos != std::string::npos; pos = path.find('/', pos + 1))
        if (untracked.count(path.substr(0, pos)) && check_conflicts) conflicts.push_back(path.substr(0, pos));
  }
  for (const auto& f : to_write) check_no_symlink_parents(I.root, f.path);  // even with --force
  if (!conflicts.empty())
    fail(ErrorCode::kConflict, "checkout would overwrite local changes in " + list(conflicts) +
                                   "; commit them (kura add, kura commit) or use --force to discard them");

  // From the first change on, the journal says what is under way, so a
  // kill at any later instant is finished by the next kura command.
  if (!run.resume) {
    nlohmann::json j = {{"op", "checkout"}, {"command", I.options.command}, {"target", commit_hex},
                        {"force", run.force}, {"paths", run.specs}};
    j["head"] = run.head ? nlohmann::json(*run.head) : nlohmann::json(nullptr);
    if (!run.update_ref.empty()) j["update_ref"] = run.update_ref, j["update_old"] = run.update_old;
    if (run.remove_staged_new) j["remove_staged_new"] = true;
    if (!run.reflog.empty()) j["reflog"] = run.reflog;
    write_journal(I.kura_dir, j);
  }
  for (const auto& path : to_remove) {
    remove_with_empty_parents(I.root, path);
    batch.erase(Table::kIndex, path);
    batch.erase(Table::kStatCache, path);
    ++result.files_removed;
  }
  const auto written = write_files(repo, I, to_write, result, run.prepared);
  // Files written before this instant are settled for the stat cache.
  const int64_t settled_before = fs_now_ns(I.kura_dir / "tmp");
  for (const auto& w : written) {
    batch.put(Table::kIndex, w.entry.path, encode_entry(w.entry));
    if (w.stat.mtime_ns < settled_before) batch.put(Table::kStatCache, w.entry.path, encode_cached(w));
    else batch.erase(Table::kStatCache, w.entry.path);
  }
  store.write(batch, Sync::kYes);

  if (!run.update_ref.empty()) {
    // A branch that follows the checkout (pull): compare-and-swap from the
    // commit it had when the checkout began; a resumed run may find it moved already.
    const std::string now = I.ref_target(run.update_ref);
    if (now != commit_hex) {
      if (now != run.update_old)
        fail(ErrorCode::kConflict, "'" + run.update_ref + "' moved during the checkout; the files are those of " +
                                       commit_hex.substr(0, 10) + ": run the command again");
      before_ref_write("update '" + run.update_ref + "'");
      repo.set_ref(run.update_ref, commit_hex, run.reflog.empty() ? "checkout" : run.reflog);
    }
  }
  if (run.head) {
    enable_reflogs(I.git.get());  // repositories made before kura kept them
    before_ref_write("move HEAD");
    if (!run.head->empty()) {
      git::check(git_repository_set_head(I.git.get(), run.head->c_str()), "cannot move HEAD");
    } else {
      git_oid oid = git::oid_from_hex(commit_hex);
      git::check(git_repository_set_head_detached(I.git.get(), &oid), "cannot move HEAD");
      result.detached = true;
    }
  }
  clear_journal(I.kura_dir);
  return result;
}

CheckoutResult Repo::checkout(const std::string& rev, const CheckoutOptions& options) {
  Impl& I = *impl_;
  git::Commit commit = I.commit_of(rev);
  CheckoutRun run;
  run.rev = rev;
  run.force = options.force;
  const fs::path cwd = fs::current_path();
  for (const auto& given : options.paths) {
    run.specs.push_back(relative_to_root(I.root, cwd, given));
    run.given.push_back(given);
  }
  if (options.paths.empty()) {
    if (!options.update_ref.empty()) {
      run.update_ref = options.update_ref;
      run.update_old = I.ref_target(options.update_ref);
      run.head = options.update_ref;
      run.reflog = options.reflog;
    } else {
      run.head = head_after(I.git.get(), rev);
    }
  }
  return run_checkout(*this, I, git::hex(*git_commit_id(commit.get())), run);
}

CheckoutResult Repo::switch_branch(const std::string& name, bool create, bool force) {
  Impl& I = *impl_;
  git_reference* local = nullptr;
  if (!create && git_branch_lookup(&local, I.git.get(), name.c_str(), GIT_BRANCH_LOCAL) != 0) {
    // git's "--guess": exactly one remote has a branch of that name.
    std::vector<std::string> remotes;
    for (const auto& [ref, target] : refs()) {
      const std::string prefix = "refs/remotes/";
      if (ref.rfind(prefix, 0) != 0 || ref.size() <= name.size() + 1 ||
          ref.compare(ref.size() - name.size() - 1, std::string::npos, "/" + name) != 0)
        continue;
      const std::string remote = ref.substr(prefix.size(), ref.size() - prefix.size() - name.size() - 1);
      if (remote.find('/') == std::string::npos) remotes.push_back(remote);
    }
    if (remotes.size() > 1)
      fail(ErrorCode::kConflict, "'" + name + "' is a branch of several remotes (" + remotes[0] + ", " + remotes[1] +
                                     "); make it from one with 'kura switch -c " + name + " " + remotes[0] + "/" + name +
                                     "' (kura branch " + name + " " + remotes[0] + "/" + name + " first)");
    if (remotes.size() == 1) {
      const std::string upstream = remotes[0] + "/" + name;
      create_branch(name, "refs/remotes/" + upstream, false);
      set_config("branch." + name + ".remote", remotes[0]);
      set_config("branch." + name + ".merge", "refs/heads/" + name);
      I.notice("branch '" + name + "' set up to track '" + upstream + "'");
      try {
        CheckoutOptions options;
        options.force = force;
        return checkout(name, options);
      } catch (const Error& e) {
        if (e.code() != ErrorCode::kConflict) throw;
        // Refused before writing a file: take the new branch back too.
        delete_branch(name);
        unset_config("branch." + name + ".remote");
        unset_config("branch." + name + ".merge");
        throw;
      }
    }
  }
  if (local) git_reference_free(local);
  if (create) {
    if (!I.head_oid()) {
      // No commit yet: the new branch is born with the first commit.
      git::check(git_repository_set_head(I.git.get(), ("refs/heads/" + name).c_str()),
                 "cannot switch to '" + name + "'");
      return {};
    }
    create_branch(name, "HEAD", false);
  }
  git_reference* branch = nullptr;
  if (git_branch_lookup(&branch, I.git.get(), name.c_str(), GIT_BRANCH_LOCAL) != 0)
    fail(ErrorCode::kNotFound, "no branch named '" + name + "'; create it with 'kura switch -c " + name + "'");
  git_reference_free(branch);
  CheckoutOptions options;
  options.force = force;
  return checkout(name, options);
}

// --- reset ---------------------------------------------------------------

namespace {

// Moves `ref` ("refs/heads/NAME", or "HEAD" when detached) from `old` to
// `target` by compare-and-swap; a ref already at `target` (a resumed reset)
// is left alone.
void move_ref_to(Repo& repo, Repo::Impl& I, const std::string& ref, const std::string& old, const std::string& target,
                 const std::string& reflog) {
  const std::string now = ref == "HEAD" ? (I.head_oid() ? git::hex(*I.head_oid()) : "") : I.ref_target(ref);
  if (now == target) return;
  if (now != old)
    fail(ErrorCode::kConflict, "'" + ref + "' moved during the reset (it is at " + now.substr(0, 10) +
                                   "); run the command again");
  enable_reflogs(I.git.get());
  before_ref_write("move '" + ref + "'");
  if (ref == "HEAD") {
    git_oid oid = git::oid_from_hex(target);
    git::check(git_repository_set_head_detached(I.git.get(), &oid), "cannot move HEAD");
  } else {
    repo.set_ref(ref, target, reflog);
  }
}

}  // namespace

// The index becomes `target`'s tree (one synced batch), then the ref moves:
// reset --mixed, and its recovery.
void run_reset_mixed(Repo& repo, Repo::Impl& I, const std::string& target, const std::string& ref,
                     const std::string& old, const std::string& reflog) {
  const TreeFiles files = I.flatten_rev(target);
  std::vector<std::pair<std::string, TreeFile>> list(files.begin(), files.end());
  TableBatch batch;
  for (const auto& [path, entry] : load_index(*I.store))
    if (!files.count(path)) batch.erase(Table::kIndex, path);
  for (const FileEntry& e : I.entries_of(list)) batch.put(Table::kIndex, e.path, encode_entry(e));
  // The stat cache describes the working files, which stay: it stays too.
  I.store->write(batch, Sync::kYes);
  move_ref_to(repo, I, ref, old, target, reflog);
}

CheckoutResult Repo::reset(const std::string& rev, ResetMode mode) {
  Impl& I = *impl_;
  if (auto m = read_merge_state(I.kura_dir))
    fail(ErrorCode::kConflict, std::string("a ") + (m->state.kind == "revert" ? "revert" : "merge") +
                                   " is in progress; end it first ('kura " +
                                   (m->state.kind == "revert" ? "revert" : "merge") + " --abort'), then reset");
  git::Commit commit = I.commit_of(rev);
  const std::string target = git::hex(*git_commit_id(commit.get()));
  const std::string ref = I.head_target_ref();
  const auto head = I.head_oid();
  const std::string old = head ? git::hex(*head) : "";
  const std::string reflog = "reset: moving to " + rev;
  CheckoutResult result;
  result.commit = target;
  result.detached = ref == "HEAD";
  switch (mode) {
    case ResetMode::kSoft:
      move_ref_to(*this, I, ref, old, target, reflog);  // one atomic step
      return result;
    case ResetMode::kMixed:
      write_journal(I.kura_dir, {{"op", "reset"}, {"command", I.options.command}, {"mode", "mixed"},
                                 {"target", target}, {"ref", ref}, {"old", old}, {"reflog", reflog}});
      run_reset_mixed(*this, I, target, ref, old, reflog);
      clear_journal(I.kura_dir);
      return result;
    case ResetMode::kHard: {
      // A forced checkout that moves the branch: files, index, branch, HEAD,
      // under checkout's journal.
      CheckoutRun run;
      run.rev = rev;
      run.force = true;
      run.remove_staged_new = true;
      run.reflog = reflog;
      if (ref == "HEAD") {
        run.head = "";
      } else {
        run.update_ref = ref;
        run.update_old = old;
        run.head = ref;
      }
      return run_checkout(*this, I, target, run);
    }
  }
  return result;
}

// --- restore -------------------------------------------------------------

// restore()'s work on repository-relative `specs`; `source` is a commit
// (hex) or "" (the index for the files, HEAD for the index). Every step is
// idempotent, so recovery runs it again.
CheckoutResult run_restore(Repo& repo, Repo::Impl& I, const std::vector<std::string>& specs,
                           const std::vector<std::string>& given, const std::string& source, bool staged,
                           bool worktree) {
  Store& store = *I.store;
  CheckoutResult result;
  const auto index = load_index(store);
  // Where each side's versions come from.
  const std::string index_from = source.empty() ? (I.head_oid() ? git::hex(*I.head_oid()) : "") : source;
  const TreeFiles index_source = staged ? I.flatten_rev(index_from) : TreeFiles{};
  const bool files_from_index = !staged && source.empty();
  const TreeFiles file_source = worktree && !files_from_index ? I.flatten_rev(staged ? index_from : source) : TreeFiles{};

  std::map<std::string, FileEntry> index_puts;  // path -> entry to stage
  std::vector<std::string> index_erases;
  std::vector<FileEntry> to_write;
  std::vector<std::string> to_remove;
  for (size_t k = 0; k < specs.size(); ++k) {
    const std::string& spec = specs[k];
    std::set<std::string> tracked;
    for (auto it = index.lower_bound(spec); it != index.end() && path_under(it->first, spec); ++it)
      tracked.insert(it->first);
    for (const TreeFiles* from : {&index_source, &file_source})
      for (auto it = from->lower_bound(spec); it != from->end() && path_under(it->first, spec); ++it)
        tracked.insert(it->first);
    if (tracked.empty())
      fail(ErrorCode::kNotFound, "'" + (k < given.size() ? given[k] : spec) + "' matches no file kura tracks (in the index" +
                                     (source.empty() ? std::string(staged ? " or HEAD" : "") : " or " + source.substr(0, 10)) +
                                     ")");
    for (const auto& path : tracked) {
      check_tree_path(path);
      if (staged) {
        auto s = index_source.find(path);
        if (s != index_source.end()) index_puts[path] = I.entry_of(path, s->second);
        else index_erases.push_back(path);
      }
      if (!worktree) continue;
      if (files_from_index) {
        auto x = index.find(path);
        if (x != index.end()) to_write.push_back(x->second);
      } else {
        auto f = file_source.find(path);
        if (f != file_source.end()) to_write.push_back(I.entry_of(path, f->second));
        else to_remove.push_back(path);
      }
    }
  }
  for (const auto& f : to_write) check_no_symlink_parents(I.root, f.path);

  TableBatch batch;
  for (const auto& path : to_remove) {
    remove_with_empty_parents(I.root, path);
    batch.erase(Table::kStatCache, path);
    ++result.files_removed;
  }
  // Only files whose bytes differ are written again.
  std::vector<FileEntry> changed;
  if (!to_write.empty()) {
    std::vector<std::string> paths;
    for (const auto& f : to_write) paths.push_back(f.path);
    std::map<std::string, FileEntry> now;
    for (auto& e : repo.working_files(paths)) now.emplace(e.path, std::move(e));
    for (const auto& f : to_write) {
      auto it = now.find(f.path);
      if (it != now.end() && it->second.mode == f.mode && it->second.pointer.object == f.pointer.object) continue;
      changed.push_back(f);
    }
  }
  const auto written = write_files(repo, I, changed, result);
  const int64_t settled_before = fs_now_ns(I.kura_dir / "tmp");
  for (const auto& w : written) {
    if (w.stat.mtime_ns < settled_before) batch.put(Table::kStatCache, w.entry.path, encode_cached(w));
    else batch.erase(Table::kStatCache, w.entry.path);
  }
  for (const auto& [path, e] : index_puts) batch.put(Table::kIndex, path, encode_entry(e));
  for (const auto& path : index_erases) batch.erase(Table::kIndex, path);
  store.write(batch, Sync::kYes);
  result.commit = source;
  return result;
}

CheckoutResult Repo::restore(const std::vector<std::string>& paths, const RestoreOptions& options) {
  Impl& I = *impl_;
  if (paths.empty()) fail(ErrorCode::kInvalidInput, "name the paths to restore ('.' for all of them)");
  if (!options.staged && !options.worktree)
    fail(ErrorCode::kInvalidInput, "nothing to restore: neither the files nor the index (--staged) was asked for");
  std::string source;
  if (!options.source.empty()) source = git::hex(*git_commit_id(I.commit_of(options.source).get()));
  else if (options.staged && !I.head_oid())
    fail(ErrorCode::kNotFound, "there is no commit yet to restore the index from (use 'kura rm --cached' to unstage)");
  std::vector<std::string> specs;
  const fs::path cwd = fs::current_path();
  for (const auto& given : paths) {
    std::string spec = relative_to_root(I.root, cwd, given);
    if (spec == ".") spec.clear();
    specs.push_back(spec);
  }
  write_journal(I.kura_dir, {{"op", "restore"}, {"command", I.options.command}, {"paths", specs},
                             {"source", source}, {"staged", options.staged}, {"worktree", options.worktree}});
  CheckoutResult result = run_restore(*this, I, specs, paths, source, options.staged, options.worktree);
  clear_journal(I.kura_dir);
  return result;
}

}  // namespace kura
