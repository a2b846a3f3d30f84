#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "kura/error.hpp"
#include "repo/odb_backend.hpp"
#include "repo/index.hpp"
#include "repo/repo_impl.hpp"
#include "util/fs.hpp"

namespace kura {

namespace fs = std::filesystem;

const char* version() { return KURA_VERSION; }

const char* change_name(Change change) {
  switch (change) {
    case Change::kAdded: return "added";
    case Change::kModified: return "modified";
    case Change::kDeleted: return "deleted";
    case Change::kTypeChanged: return "typechange";
  }
  return "unknown";
}

void Repo::init(const fs::path& dir, const std::string& branch) {
  git::init();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(ErrorCode::kNotFound, "'" + dir.string() + "' is not a folder");
  const fs::path kura = dir / ".kura";
  if (fs::exists(kura, ec))
    fail(ErrorCode::kConflict, "'" + fs::absolute(dir).string() + "' is already a kura repository");
  if (git_reference_is_valid_name(("refs/heads/" + branch).c_str()) != 1)
    fail(ErrorCode::kInvalidInput, "'" + branch + "' is not a valid branch name");
  // Build .kura/ under a temporary name and rename it into place, so a
  // killed init leaves either nothing or a complete repository.
  const fs::path tmp = dir / (".kura.init-" + std::to_string(::getpid()));
  fs::create_directories(tmp / "tmp", ec);
  if (ec) fail(ErrorCode::kIo, "cannot create '" + tmp.string() + "': " + ec.message());
  try {
    git_repository_init_options opts = GIT_REPOSITORY_INIT_OPTIONS_INIT;
    opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
    opts.initial_head = branch.c_str();
    git_repository* raw = nullptr;
    git::check(git_repository_init_ext(&raw, (tmp / "git").c_str(), &opts), "cannot create the git repository");
    git::Repository owner(raw);
    enable_reflogs(raw);
    Store::open(tmp / "store", /*create=*/true);
    write_file_atomic(tmp / ".gitignore", "# kura's own data: not for git\n*\n");
    sync_dir(tmp);
    if (::rename(tmp.c_str(), kura.c_str()) != 0) fail_errno("create", kura.string());
    sync_dir(dir);
  } catch (...) {
    fs::remove_all(tmp, ec);  // best effort: nothing of it is referenced yet
    throw;
  }
}

std::unique_ptr<Repo> Repo::open(const fs::path& start, const OpenOptions& options) {
  git::init();
  std::error_code ec;
  fs::path dir = fs::absolute(start, ec).lexically_normal();
  if (!dir.empty() && dir.has_filename() == false && dir != dir.root_path()) dir = dir.parent_path();
  fs::path root;
  for (fs::path p = dir;; p = p.parent_path()) {
    if (fs::is_directory(p / ".kura" / "store", ec) && fs::is_directory(p / ".kura" / "git", ec)) {
      root = p;
      break;
    }
    if (p == p.root_path() || p.empty()) break;
  }
  if (root.empty())
    fail(ErrorCode::kNotARepository,
         "not a kura repository (no .kura/ in '" + dir.string() + "' or its parents); run 'kura init'");
  auto impl = std::make_unique<Impl>();
  impl->root = root;
  impl->kura_dir = root / ".kura";
  impl->options = options;
  fs::create_directories(impl->kura_dir / "tmp", ec);
  if (!options.lock && options.access != Access::kReadOnly)
    fail(ErrorCode::kInvalidInput, "a repository opened without its lock can only be read");
  if (options.lock)
    impl->lock = std::make_unique<RepoLock>(impl->kura_dir / "lock", options.command, options.lock_timeout);
  // An interrupted operation is finished before anything else, even by a
  // read-only command: it needs a writable store for that. fsck is the
  // exception (src/repo/recover.cpp): it looks at what the kill left.
  const bool journal = fs::exists(impl->kura_dir / "journal", ec);
  const Access access =
      journal && options.lock && options.access == Access::kReadOnly ? Access::kReadWrite : options.access;
  impl->store = Store::open(impl->kura_dir / "store", /*create=*/false, access);
  git_repository* raw = nullptr;
  git::check(git_repository_open_bare(&raw, (impl->kura_dir / "git").c_str()),
             "cannot open " + (impl->kura_dir / "git").string());
  impl->git.reset(raw);
  attach_store_backend(raw, *impl->store);
  auto repo = std::unique_ptr<Repo>(new Repo(std::move(impl)));
  apply_object_source_factory(*repo);  // a partial clone fetches what it lacks (src/repo/sources.cpp)
  if (options.lock) repo->recover();
  return repo;
}

Repo::Repo(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Repo::~Repo() = default;
const fs::path& Repo::root() const { return impl_->root; }
Store& Repo::store() { return *impl_->store; }

unsigned Repo::Impl::threads() const {
  if (options.threads) return options.threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

FileEntry Repo::Impl::store_file(const std::string& path, std::string* blob, struct stat* st,
                                 uint64_t* images) const {
  const fs::path abs = root / path;
  FileEntry e;
  e.path = path;
  if (::lstat(abs.c_str(), st) != 0) fail_errno("read", path);
  if (S_ISLNK(st->st_mode)) {
    std::error_code ec;
    std::string target = fs::read_symlink(abs, ec).string();
    if (ec) fail(ErrorCode::kIo, "cannot read link '" + path + "': " + ec.message());
    e.mode = 0120000;
    e.pointer.kind = FileKind::kLink;
    e.pointer.object = store->put_object(target);
    e.pointer.file_sha = e.pointer.object;
    e.pointer.size = target.size();
    *blob = target;
  } else {
    if (S_ISDIR(st->st_mode)) fail(ErrorCode::kInvalidInput, "'" + path + "' is a folder, not a file");
    MappedFile file(abs);
    *st = file.info();
    e.mode = git_mode(*st);
    if (is_table_path(path)) {
      TableInfo t = store_table(*store, file.bytes());
      e.pointer.kind = FileKind::kTable;
      e.pointer.object = t.manifest;
      e.pointer.file_sha = t.file_sha;
      e.pointer.rows = t.rows;
      if (images) *images = t.images;
    } else {
      e.pointer.kind = FileKind::kMedia;
      e.pointer.object = store_media(*store, file.bytes());
      e.pointer.file_sha = e.pointer.object;
    }
    e.pointer.size = file.bytes().size();
    *blob = e.pointer.encode();
  }
  e.pointer_oid = git::hex(git::hash_blob(*blob));
  return e;
}

ObjectId Repo::Impl::hash_file(const std::string& path, const struct stat& st) const {
  const fs::path abs = root / path;
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    std::string target = fs::read_symlink(abs, ec).string();
    if (ec) fail(ErrorCode::kIo, "cannot read link '" + path + "': " + ec.message());
    return sha256(target);
  }
  MappedFile file(abs);
  return sha256(file.bytes());
}

}  // namespace kura
