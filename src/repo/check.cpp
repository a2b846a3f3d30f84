// Checks on the working folder, the index or a commit, and the report that
// every verified commit carries.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>

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

// The bytes of the regular file `path` under `root`, or nullopt when there is none.
std::optional<std::string> folder_text(const fs::path& root, const std::string& path) {
  struct stat st;
  if (::lstat((root / path).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return std::string(MappedFile(root / path).bytes());
}

// The split files (by the policy's names, in any folder) among `all` that
// are not under `specs`: what a check of some files compares them with.
template <typename T, typename PathOf>
std::vector<T> other_splits(const std::vector<T>& all, const std::vector<std::string>& specs, const Policy& policy,
                            PathOf path_of) {
  std::vector<T> out;
  if (specs.empty()) return out;
  for (const T& f : all) {
    const std::string& path = path_of(f);
    const std::string base = path.substr(path.rfind('/') + 1);
    if ((base == policy.train_file || base == policy.validation_file) && !path_under_any(path, specs))
      out.push_back(f);
  }
  return out;
}

// Hand exclusions a check of the files under `specs` applies: the entries
// naming those files, and every malformed line (a broken exclusion file
// concerns the whole data set).
Exclusions exclusions_for(const std::optional<std::string>& text, const std::vector<std::string>& specs) {
  Exclusions e = text ? Exclusions::parse(*text) : Exclusions{};
  if (!specs.empty())
    std::erase_if(e.entries, [&](const Exclusion& x) { return !path_under_any(x.path, specs); });
  return e;
}

}  // namespace

Policy Repo::Impl::policy_over(const std::optional<std::string>& tracked, const std::string& name) const {
  Policy p = tracked ? Policy::parse(*tracked, name, Policy{}) : Policy{};
  if (auto local = folder_text(kura_dir, "checks.json")) p = Policy::parse(*local, ".kura/checks.json", std::move(p));
  return p;
}

std::optional<std::string> Repo::Impl::text_of(const std::vector<FileEntry>& files, const std::string& path) const {
  auto it = std::lower_bound(files.begin(), files.end(), path,
                             [](const FileEntry& f, const std::string& p) { return f.path < p; });
  if (it == files.end() || it->path != path || it->pointer.kind == FileKind::kLink) return std::nullopt;
  std::string text;
  read_entry(*store, *it, [&](std::string_view piece) { text.append(piece); });
  return text;
}

Policy Repo::policy_for(CheckScope scope, const std::string& rev) const {
  const Impl& I = *impl_;
  if (scope == CheckScope::kWorkingFolder) return I.policy_over(folder_text(I.root, kPolicyFile), kPolicyFile);
  const std::vector<FileEntry> files = ls_files(scope == CheckScope::kIndex ? "" : rev);
  return I.policy_over(I.text_of(files, kPolicyFile),
                       std::string(kPolicyFile) + (scope == CheckScope::kIndex ? " (staged)" : " (in " + rev + ")"));
}

Policy Repo::policy() const { return policy_for(CheckScope::kWorkingFolder); }

Policy folder_policy(const fs::path& root) {
  if (auto text = folder_text(root, kPolicyFile)) return Policy::parse(*text, kPolicyFile, Policy{});
  if (auto old = folder_text(root, ".kura-checks.json"))
    return Policy::parse(*old, ".kura-checks.json (rename it to kura-checks.json)", Policy{});
  return Policy{};
}

// The working folder's files as entries, storing what the stat cache does
// not know (objects only: the index is not touched).
std::vector<FileEntry> Repo::Impl::working_entries(const std::vector<std::string>& specs) {
  std::vector<WorkFile> work;
  const IgnoreRules rules = IgnoreRules::load(root);
  for (const auto& spec : specs.empty() ? std::vector<std::string>{""} : specs) {
    struct stat st;
    if (::lstat((spec.empty() ? root : root / spec).c_str(), &st) != 0)
      fail(ErrorCode::kNotFound, "'" + spec + "' does not exist");
    scan_worktree(root, spec, rules, work, nullptr);
  }
  std::vector<FileEntry> entries(work.size());
  std::vector<char> fresh(work.size(), 0);
  std::vector<std::string> blobs(work.size());
  std::vector<struct stat> stats(work.size());
  const int64_t settled_before = fs_now_ns(kura_dir / "tmp");
  parallel_for(work.size(), threads(), [&](size_t i) {
    auto bytes = store->get(Table::kStatCache, work[i].path);
    auto cached = bytes ? decode_cached(work[i].path, *bytes) : std::nullopt;
    if (cached && cached->stat == StatPrint::of(work[i].st) && cached->stat.mtime_ns < settled_before &&
        store->has_object(cached->entry.pointer.object)) {
      entries[i] = cached->entry;
    } else {
      entries[i] = store_file(work[i].path, &blobs[i], &stats[i]);
      fresh[i] = 1;
    }
  });
  store->sync_objects();
  TableBatch batch;
  for (size_t i = 0; i < work.size(); ++i) {
    if (!fresh[i]) continue;
    // The pointer blob too: a later add trusts the stat cache and will
    // commit this entry without storing the file again.
    batch.put(Table::kGit, git::raw(git::oid_from_hex(entries[i].pointer_oid)),
              encode_git_value(GIT_OBJECT_BLOB, blobs[i]));
    if (ns(stats[i].st_mtim) < settled_before)
      batch.put(Table::kStatCache, entries[i].path, encode_cached({StatPrint::of(stats[i]), entries[i]}));
  }
  store->write(batch, Sync::kNo);
  return entries;
}

CheckOptions Repo::Impl::check_options(const CheckOptions& given) const {
  CheckOptions o = given;
  // One worker more than cores, unless the caller chose: an image's worker
  // waits on reads and on libvips' global locks, and a third worker on two
  // cores keeps them busy (cold check of 10,000 JPEGs: 10.2 -> 9.1 s).
  if (o.threads == 0) o.threads = options.threads ? options.threads : threads() + 1;
  if (!o.progress) o.progress = options.progress;
  o.root = root;
  const fs::path hook = kura_dir / "hooks" / "pre-commit";
  if (o.user_hook.empty() && ::access(hook.c_str(), X_OK) == 0) o.user_hook = hook;
  return o;
}

CheckReport Repo::Impl::check_for_commit(const std::vector<FileEntry>& files, unsigned threads) const {
  CheckOptions o;
  o.policy = policy_over(text_of(files, kPolicyFile), std::string(kPolicyFile) + " (staged)");
  o.exclusions = exclusions_for(text_of(files, kExclusionsFile), {});
  o.threads = threads;
  return run_checks(*store, files, check_options(o));
}

std::string Repo::Impl::store_report(const CheckReport& report) const {
  const std::string hex = store->put_object(report.encode()).hex();
  store->sync_objects();  // the report before the commit that names it
  return hex;
}

CheckReport Repo::check(CheckScope scope, const std::string& rev, const std::vector<std::string>& paths,
                        const CheckOptions& options) {
  Impl& I = *impl_;
  const fs::path cwd = fs::current_path();
  std::vector<std::string> specs;
  for (const auto& p : paths) specs.push_back(relative_to_root(I.root, cwd, p));
  std::vector<FileEntry> files;
  CheckOptions o = I.check_options(options);
  if (scope == CheckScope::kWorkingFolder) {
    files = I.working_entries(specs);
    o.exclusions = exclusions_for(folder_text(I.root, kExclusionsFile), specs);
    if (!specs.empty()) {
      std::vector<WorkFile> work;
      scan_worktree(I.root, "", IgnoreRules::load(I.root), work, nullptr);
      std::vector<std::string> others;
      for (const WorkFile& w : other_splits(work, specs, o.policy, [](const WorkFile& w) -> const std::string& { return w.path; }))
        others.push_back(w.path);
      if (!others.empty()) o.context = I.working_entries(others);
    }
    // An image a JSONL row names outside the checked paths: read it from the folder.
    if (!specs.empty())
      o.resolve = [&I](const std::string& path) -> std::optional<FileEntry> {
        struct stat st;
        if (::lstat((I.root / path).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
        auto found = I.working_entries({path});
        return found.empty() ? std::nullopt : std::optional<FileEntry>(found[0]);
      };
  } else {
    files = ls_files(scope == CheckScope::kIndex ? "" : rev);  // in path order
    o.exclusions = exclusions_for(I.text_of(files, kExclusionsFile), specs);
    o.context = other_splits(files, specs, o.policy, [](const FileEntry& f) -> const std::string& { return f.path; });
    if (!specs.empty()) {
      std::map<std::string, FileEntry> all;
      for (const auto& f : files) all.emplace(f.path, f);
      std::erase_if(files, [&](const FileEntry& f) { return !path_under_any(f.path, specs); });
      o.resolve = [all = std::move(all)](const std::string& path) -> std::optional<FileEntry> {
        auto it = all.find(path);
        return it == all.end() ? std::nullopt : std::optional<FileEntry>(it->second);
      };
    }
  }
  return run_checks(*I.store, files, o);
}

std::optional<CheckReport> Repo::commit_report(const std::string& rev) const {
  git::Commit commit = impl_->commit_of(rev);
  auto id = impl_->report_id(commit.get());
  if (!id) return std::nullopt;
  try {
    return CheckReport::decode(impl_->store->read_object(*id));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kCorrupt) throw;
    fail(ErrorCode::kCorrupt, "the check report " + id->hex() + " of " + rev + " cannot be read (" + e.what() +
                                  "); run 'kura fsck'");
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kCorrupt, "the check report " + id->hex() + " of " + rev + " cannot be read: " + e.what());
  }
}

std::optional<ObjectId> Repo::Impl::report_id(const git_commit* commit) const {
  git_buf buf = GIT_BUF_INIT;
  int rc = git_commit_header_field(&buf, commit, kReportHeader);
  if (rc == GIT_ENOTFOUND) return std::nullopt;
  git::check(rc, "cannot read the commit's check report header");
  std::string value(buf.ptr, buf.size);
  git_buf_dispose(&buf);
  auto id = ObjectId::from_hex(value);
  if (!id) fail(ErrorCode::kCorrupt, "commit " + git::hex(*git_commit_id(commit)) + " has a malformed kura-checks header");
  return id;
}

namespace {

// The folder's image files by object id, so that the checks read them where
// they are instead of from a copy. Only paths are kept (holding every file
// would hold the whole folder in memory); a file is read again when its image
// is inspected, and must still have the bytes it was named by.
class FolderImages {
 public:
  // Reads `path`; returns its object id and size.
  std::pair<ObjectId, uint64_t> add(const fs::path& path) {
    MappedFile file(path);
    const ObjectId id = sha256(file.bytes());
    std::lock_guard<std::mutex> lock(mutex_);
    paths_.emplace(id, path);  // the same bytes twice: the first path serves
    return {id, file.bytes().size()};
  }
  std::optional<std::string> read(const ObjectId& id) const {
    fs::path path;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = paths_.find(id);
      if (it == paths_.end()) return std::nullopt;
      path = it->second;
    }
    MappedFile file(path);
    if (sha256(file.bytes()) != id)
      fail(ErrorCode::kConflict, "'" + path.string() + "' changed while it was being checked; check again");
    return std::string(file.bytes());
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<ObjectId, fs::path, ObjectIdHash> paths_;
};

}  // namespace

CheckReport check_folder(const fs::path& cache_dir, const fs::path& root, const std::vector<std::string>& paths,
                         const CheckOptions& options) {
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) fail(ErrorCode::kIo, "cannot create the check cache '" + cache_dir.string() + "': " + ec.message());
  RepoLock lock(cache_dir / "lock", "kura check", std::chrono::milliseconds(30000));
  // Kept: results only (Table::kChecks), a few hundred bytes an image. The
  // JSONL rows and inline images the checks need go to a scratch store that
  // is deleted after the run (and at the next, if this one is killed); the
  // folder's image files are not copied at all. (Until 0.1, "store" held a
  // copy of every file checked: removed here.)
  fs::remove_all(cache_dir / "store", ec);
  const fs::path scratch_dir = cache_dir / "scratch";
  fs::remove_all(scratch_dir, ec);
  auto results = Store::open(cache_dir / "results", /*create=*/true);
  auto scratch = Store::open(scratch_dir, /*create=*/true);
  struct Cleanup {
    std::unique_ptr<Store>& store;
    fs::path dir;
    ~Cleanup() {
      store.reset();
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{scratch, scratch_dir};

  const fs::path cwd = fs::current_path();
  std::vector<WorkFile> work;
  std::vector<std::string> specs;
  const IgnoreRules rules = IgnoreRules::load(root);
  for (const auto& given : paths.empty() ? std::vector<std::string>{"."} : paths) {
    std::string spec = relative_to_root(root, cwd, given);
    if (::access((spec.empty() ? root : root / spec).c_str(), F_OK) != 0)
      fail(ErrorCode::kNotFound, "'" + given + "' does not exist");
    scan_worktree(root, spec, rules, work, nullptr);
    specs.push_back(spec);
  }
  if (std::find(specs.begin(), specs.end(), "") != specs.end()) specs.clear();  // the whole folder
  std::vector<WorkFile> others;
  if (!specs.empty()) {
    std::vector<WorkFile> all;
    scan_worktree(root, "", rules, all, nullptr);
    others = other_splits(all, specs, options.policy, [](const WorkFile& w) -> const std::string& { return w.path; });
  }
  const size_t checked = work.size();
  work.insert(work.end(), others.begin(), others.end());
  FolderImages images;
  std::vector<FileEntry> files(work.size());
  parallel_for(work.size(), options.threads, [&](size_t i) {
    FileEntry& e = files[i];
    e.path = work[i].path;
    e.mode = git_mode(work[i].st);
    if (S_ISLNK(work[i].st.st_mode)) {
      e.pointer.kind = FileKind::kLink;  // links are not followed, so not checked
      return;
    }
    if (is_table_path(e.path)) {
      MappedFile file(root / e.path);
      TableInfo t = store_table(*scratch, file.bytes());
      e.pointer.kind = FileKind::kTable;
      e.pointer.object = t.manifest;
      e.pointer.rows = t.rows;
      e.pointer.file_sha = t.file_sha;
      e.pointer.size = file.bytes().size();
    } else {
      std::tie(e.pointer.object, e.pointer.size) = images.add(root / e.path);
      e.pointer.file_sha = e.pointer.object;
    }
  });
  CheckOptions o = options;
  o.context.assign(std::make_move_iterator(files.begin() + checked), std::make_move_iterator(files.end()));
  files.resize(checked);
  o.exclusions = exclusions_for(folder_text(root, kExclusionsFile), specs);
  o.root = root;
  o.results = results.get();
  o.read_image = [&images](const ObjectId& id) { return images.read(id); };
  // Images named by JSONL rows but not among `paths` (a hook checks the
  // changed files only) are read from the folder.
  o.resolve = [&images, &root](const std::string& path) -> std::optional<FileEntry> {
    struct stat st;
    if (::lstat((root / path).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    FileEntry e;
    e.path = path;
    std::tie(e.pointer.object, e.pointer.size) = images.add(root / path);
    e.pointer.file_sha = e.pointer.object;
    return e;
  };
  return run_checks(*scratch, files, o);
}

CheckReport Repo::report_for(const std::string& rev, unsigned threads, std::string* source) {
  if (auto stored = commit_report(rev)) {
    if (source) *source = "stored";
    return *stored;
  }
  CheckOptions options;
  options.policy = policy_for(CheckScope::kRevision, rev);
  options.threads = threads;
  if (source) *source = "policy " + options.policy.hash();
  return check(CheckScope::kRevision, rev, {}, options);
}

}  // namespace kura
