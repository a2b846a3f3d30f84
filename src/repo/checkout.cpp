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
                                            CheckoutResult& result) {
  for (const auto& f : files) {
    const fs::path parent = (I.root / f.path).parent_path();
    std::error_code ec;
    fs::create_directories(parent, ec);
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
          const fs::path tmp = abs.parent_path() / (".kura-tmp-link-" + std::to_string(::getpid()) + "-" +
                                                    std::to_string(i));
          if (::symlink(target.c_str(), tmp.c_str()) != 0) fail_errno("create link", f.path);
          if (::rename(tmp.c_str(), abs.c_str()) != 0) fail_errno("create link", f.path);
        } else {
          write_file_atomic(abs, f.mode == 0100755 ? 0755 : 0644,
                            [&](const auto& write) { repo.read_file(f, write); });
        }
        struct stat st;
        if (::lstat(abs.c_str(), &st) != 0) fail_errno("stat", f.path);
        written[i] = {StatPrint::of(st), f};
        bytes += f.pointer.size;
        ++done;
      },
      [&] { I.progress({"checking out", done.load(), files.size(), bytes.load(), 0}); });
  result.files_written += files.size();
  result.bytes_written += bytes.load();
  return written;
}

CheckoutResult Repo::checkout(const std::string& rev, const CheckoutOptions& options) {
  Impl& I = *impl_;
  Store& store = *I.store;
  git::Commit commit = I.commit_of(rev);
  CheckoutResult result;
  result.commit = git::hex(*git_commit_id(commit.get()));
  const TreeFiles target = I.flatten_rev(result.commit);
  for (const auto& [path, file] : target) check_tree_path(path);
  const auto index = load_index(store);
  const StatusReport local = status();
  std::set<std::string> changed_locally;
  for (const auto& s : local.staged) changed_locally.insert(s.path);
  std::set<std::string> unstaged;
  for (const auto& s : local.unstaged) unstaged.insert(s.path);
  changed_locally.insert(unstaged.begin(), unstaged.end());
  const std::set<std::string> untracked(local.untracked.begin(), local.untracked.end());

  std::vector<FileEntry> to_write;
  std::vector<std::string> to_remove, conflicts;
  TableBatch batch;

  if (!options.paths.empty()) {
    // Restore paths from REV into the working folder and the index; HEAD stays.
    const fs::path cwd = fs::current_path();
    for (const auto& given : options.paths) {
      std::string spec = relative_to_root(I.root, cwd, given);
      size_t before = to_write.size();
      for (auto it = target.lower_bound(spec); it != target.end() && path_under(it->first, spec); ++it) {
        // Staged content is safe in the store; only unsaved work is protected.
        if (!options.force && (unstaged.count(it->first) || untracked.count(it->first)))
          conflicts.push_back(it->first);
        to_write.push_back(I.entry_of(it->first, it->second));
      }
      if (to_write.size() == before)
        fail(ErrorCode::kNotFound, "'" + given + "' is not in " + rev);
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
      if (moves && (dirty || (!h && t && untracked.count(path))) && !options.force) conflicts.push_back(path);
      if (t && (moves || (options.force && dirty))) to_write.push_back(I.entry_of(path, *t));
      if (!t && h) to_remove.push_back(path);
      // A staged new file that neither commit has: --force unstages it and
      // leaves the file (untracked); without --force it stays staged.
      if (!t && !h && options.force && index.count(path)) batch.erase(Table::kIndex, path);
    }
    // A file of the target inside what is an untracked file here.
    for (const auto& [path, file] : target)
      for (size_t pos = path.find('/'); pos != std::string::npos; pos = path.find('/', pos + 1))
        if (untracked.count(path.substr(0, pos)) && !options.force) conflicts.push_back(path.substr(0, pos));
  }
  for (const auto& f : to_write) check_no_symlink_parents(I.root, f.path);  // even with --force
  if (!conflicts.empty())
    fail(ErrorCode::kConflict, "checkout would overwrite local changes in " + list(conflicts) +
                                   "; commit them (kura add, kura commit) or use --force to discard them");

  for (const auto& path : to_remove) {
    std::error_code ec;
    fs::remove(I.root / path, ec);  // gone already is fine
    for (fs::path dir = (I.root / path).parent_path(); dir != I.root; dir = dir.parent_path())
      if (!fs::remove(dir, ec)) break;  // only empty folders go
    batch.erase(Table::kIndex, path);
    batch.erase(Table::kStatCache, path);
    ++result.files_removed;
  }
  const auto written = write_files(*this, I, to_write, result);
  // Files written before this instant are settled for the stat cache.
  const int64_t settled_before = fs_now_ns(I.kura_dir / "tmp");
  for (const auto& w : written) {
    batch.put(Table::kIndex, w.entry.path, encode_entry(w.entry));
    if (w.stat.mtime_ns < settled_before) batch.put(Table::kStatCache, w.entry.path, encode_cached(w));
    else batch.erase(Table::kStatCache, w.entry.path);
  }
  store.write(batch, Sync::kYes);

  if (options.paths.empty()) {
    git_reference* branch = nullptr;
    if (git_branch_lookup(&branch, I.git.get(), rev.c_str(), GIT_BRANCH_LOCAL) == 0) {
      git::Reference owner(branch);
      git::check(git_repository_set_head(I.git.get(), git_reference_name(branch)), "cannot move HEAD");
    } else {
      git_oid oid = *git_commit_id(commit.get());
      git::check(git_repository_set_head_detached(I.git.get(), &oid), "cannot move HEAD");
      result.detached = true;
    }
  }
  return result;
}

CheckoutResult Repo::switch_branch(const std::string& name, bool create, bool force) {
  Impl& I = *impl_;
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

}  // namespace kura
