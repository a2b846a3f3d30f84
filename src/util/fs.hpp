// File-system helpers shared by the layers: mapped reads, crash-safe writes,
// and the path rules that keep kura inside the working folder.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kura {

// A whole file's bytes, read-only: small files are read into memory, large
// ones memory-mapped (empty files give an empty view).
class MappedFile {
 public:
  // Throws Error naming `path` when it cannot be opened or mapped.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::string_view bytes() const {
    return data_ ? std::string_view(static_cast<const char*>(data_), size_) : std::string_view(buffer_);
  }
  const struct stat& info() const { return st_; }

 private:
  void* data_ = nullptr;  // mapped (large files)
  std::string buffer_;    // read (small files: unmapping costs more than copying)
  size_t size_ = 0;
  struct stat st_ {};
};

// Writes a file by streaming into a temporary beside it, fsync, then rename,
// so readers see the old file or the new one, never a part. `produce` gets a
// writer it may call any number of times. `mode` is applied before the rename.
void write_file_atomic(const std::filesystem::path& path, mode_t mode,
                       const std::function<void(const std::function<void(std::string_view)>&)>& produce);
// The same for a file of the working folder, where a kill must leave
// nothing there: written as a PendingFile (below) with `tmp_dir` (checkout's
// .kura/tmp/, emptied at every open).
void write_file_atomic(const std::filesystem::path& path, mode_t mode, const std::filesystem::path& tmp_dir,
                       const std::function<void(const std::function<void(std::string_view)>&)>& produce);
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes, mode_t mode = 0644);
// When a written file must be on disk: before write_file_atomic returns
// (fsync), or later, all at once, when the caller calls sync_file_systems()
// before anything records the file as written (checkout's index): one
// syncfs instead of an fsync per file (git's core.fsyncMethod=batch idea).
enum class Durable { kNow, kLater };
void write_file_atomic(const std::filesystem::path& path, mode_t mode, const std::filesystem::path& tmp_dir,
                       Durable durable,
                       const std::function<void(const std::function<void(std::string_view)>&)>& produce);

// A working-folder file whose bytes are written before it is named: by
// write_file_atomic() above, and by a merge, which writes its merged table
// while it renders it to hash it, long before the journaled checkout that
// names it (one rendering instead of two).
//
// Until publish(), the bytes are an unnamed inode of the file's folder
// (O_TMPFILE), so a kill leaves nothing anywhere and a destroyed,
// unpublished PendingFile nothing at all. publish() links it under its name
// when no file is there, else links it as a temporary in `tmp_dir` and
// renames it over the file, so readers see the old file or the new one.
// Where the file system or kernel has no O_TMPFILE (or /proc is not
// mounted), the bytes go to a named temporary in `tmp_dir` (beside the file
// when `tmp_dir` is on another file system), renamed at publish(). Errors
// are Error(kIo) naming the file. One thread at a time.
class PendingFile {
 public:
  // `path`'s folder must exist.
  PendingFile(const std::filesystem::path& path, const std::filesystem::path& tmp_dir);
  ~PendingFile();
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // Appends `piece`; small pieces are gathered into large writes.
  void write(std::string_view piece);
  uint64_t size() const { return size_; }
  // Sets `mode` (exactly: no umask), makes the bytes durable as `durable`
  // says, then names the file `path`. Once; nothing may be written after.
  void publish(mode_t mode, Durable durable);

 private:
  std::filesystem::path path_, tmp_dir_;
  std::filesystem::path tmp_;  // the named temporary, while there is one
  int fd_ = -1;
  std::string buffer_;
  uint64_t size_ = 0;
};
// syncfs(2) of each file system that holds one of `paths` (one call per
// file system), behind the test seam as an fsync: every file written there
// is then on disk, with its name.
void sync_file_systems(const std::vector<std::filesystem::path>& paths);
// rename(2) behind the test seam (util/fault.hpp): -1 with errno on failure.
int rename_file(const char* from, const char* to);
// Writes all of `bytes` to `fd` (retrying short and interrupted writes),
// behind the same seam: 0, or the errno of the write that failed. For
// callers that report the error themselves (a writer thread hands it on).
int write_fully(int fd, std::string_view bytes);
// A fresh temporary file name, ".kura-tmp-<pid>-<n>": short, so that it never
// makes a legal name illegal, and never a part of any file's name.
std::string temporary_name();
inline bool is_temporary_name(std::string_view name) { return name.substr(0, 10) == ".kura-tmp-"; }

// Removes file `rel` (relative to `root`; gone already is fine) and then
// each folder above it that is left empty, up to `root` (not included).
// Best effort: what cannot be removed stays, and shows as untracked.
void remove_with_empty_parents(const std::filesystem::path& root, const std::string& rel);

// fsyncs a directory so a rename in it survives power loss.
void sync_dir(const std::filesystem::path& dir);

// The repository-relative form ("a/b.jpg") of `path`, given relative to `cwd`
// or absolute; "" for the root itself. Throws Error(kInvalidInput) when it
// leaves `root` or enters `.kura/`. Does not touch the disk.
std::string relative_to_root(const std::filesystem::path& root, const std::filesystem::path& cwd,
                             const std::string& path);

// True when repository-relative `path` is `spec` or lies under the folder
// `spec` ("" is the root: everything is under it).
inline bool path_under(std::string_view path, std::string_view spec) {
  return spec.empty() || path == spec ||
         (path.size() > spec.size() && path.substr(0, spec.size()) == spec && path[spec.size()] == '/');
}

// True when `path` is under any of `specs`; no specs means everything.
inline bool path_under_any(std::string_view path, const std::vector<std::string>& specs) {
  if (specs.empty()) return true;
  for (const auto& s : specs)
    if (path_under(path, s)) return true;
  return false;
}

// Why the path component `name` must not be versioned or written, or empty
// when it may: it is `.git` (anywhere) or, when `top_level`, `.kura`, or a
// name that some file system treats as one of them: a different case
// (`.GIT`, macOS and Windows), trailing dots or spaces or an NTFS stream
// suffix (`.git.`, `.git ::$DATA`, Windows), the 8.3 short name (`GIT~1`),
// or Unicode code points HFS+ ignores (U+200C..U+200F, U+202A..U+202E,
// U+206A..U+206F, U+FEFF) inside the name. The rules of git's verify_path
// (is_ntfs_dotgit, is_hfs_dotgit).
std::string reserved_name_reason(std::string_view name, bool top_level);

// Checks a path that came from a commit (maybe someone else's) before
// checkout writes it: no empty, "." or ".." component, not absolute, no
// component that reserved_name_reason refuses (under .kura/ or any .git/,
// in any spelling a file system takes for them). Throws
// Error(kInvalidInput) naming the path and why.
void check_tree_path(const std::string& path);

// Throws Error(kInvalidInput) when a folder on the way from root to `path`
// is a symlink (a checkout must not write through it out of the folder).
void check_no_symlink_parents(const std::filesystem::path& root, const std::string& path);

// Nanoseconds of a stat time.
inline int64_t ns(const struct timespec& t) { return int64_t(t.tv_sec) * 1000000000 + t.tv_nsec; }

// The file system's clock now (mtime of a file just touched in `dir`): files
// with an mtime before it are "settled" for the stat cache (git's racy-clean rule).
int64_t fs_now_ns(const std::filesystem::path& dir);

}  // namespace kura
