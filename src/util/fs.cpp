#include "util/fs.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cassert>
#include <cctype>
#include <tuple>
#include <cerrno>
#include <set>
#include <vector>

#include "kura/error.hpp"
#include "util/fault.hpp"

namespace kura {

namespace fs = std::filesystem;

MappedFile::MappedFile(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) fail_errno("open", path.string());
  if (::fstat(fd, &st_) != 0) {
    ::close(fd);
    fail_errno("stat", path.string());
  }
  if (!S_ISREG(st_.st_mode)) {
    ::close(fd);
    fail(ErrorCode::kInvalidInput, "'" + path.string() + "' is not a regular file");
  }
  size_ = static_cast<size_t>(st_.st_size);
  constexpr size_t kMapAbove = 8u << 20;
  if (size_ > 0 && size_ <= kMapAbove) {
    buffer_.resize(size_);
    size_t got = 0;
    while (got < size_) {
      ssize_t n = ::pread(fd, buffer_.data() + got, size_ - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        fail_errno("read", path.string());
      }
      if (n == 0) break;  // the file shrank while we read it
      got += static_cast<size_t>(n);
    }
    buffer_.resize(got);
    size_ = got;
  } else if (size_ > 0) {
    data_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data_ == MAP_FAILED) {
      data_ = nullptr;
      ::close(fd);
      fail_errno("read", path.string());
    }
    ::madvise(data_, size_, MADV_SEQUENTIAL);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(data_, size_);
}

namespace {

std::atomic<uint64_t> tmp_counter{0};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_;
};

// The system calls of every write path, with the test seam (util/fault.hpp)
// in front: an injected fault fails the call as a dying disk would (EIO).
ssize_t checked_write(int fd, const void* data, size_t n) {
  if (fault::point(fault::Op::kWrite)) return errno = EIO, -1;
  return ::write(fd, data, n);
}
int checked_fsync(int fd) {
  if (fault::point(fault::Op::kSync)) return errno = EIO, -1;
  return ::fsync(fd);
}

void write_all(int fd, std::string_view data, const std::string& path) {
  if (const int err = write_fully(fd, data); err != 0) {
    errno = err;
    fail_errno("write", path);
  }
}

}  // namespace

int rename_file(const char* from, const char* to) {
  if (fault::point(fault::Op::kRename)) return errno = EIO, -1;
  return ::rename(from, to);
}

int write_fully(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = checked_write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

std::string temporary_name() {
  // Short and fixed in length: a temporary must never turn a legal file
  // name into one over NAME_MAX (255 bytes), so it carries no part of it.
  return ".kura-tmp-" + std::to_string(::getpid()) + "-" + std::to_string(tmp_counter++);
}

void write_file_atomic(const fs::path& path, mode_t mode,
                       const std::function<void(const std::function<void(std::string_view)>&)>& produce) {
  write_file_atomic(path, mode, fs::path(), produce);
}

void write_file_atomic(const fs::path& path, mode_t mode, const fs::path& tmp_dir,
                       const std::function<void(const std::function<void(std::string_view)>&)>& produce) {
  write_file_atomic(path, mode, tmp_dir, Durable::kNow, produce);
}

void sync_file_systems(const std::vector<fs::path>& paths) {
  std::set<dev_t> done;
  for (const auto& p : paths) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) fail_errno("stat", p.string());
    if (!done.insert(st.st_dev).second) continue;
    // A link is opened as its folder: syncfs wants a descriptor on the file system.
    const fs::path open_path = S_ISLNK(st.st_mode) ? p.parent_path() : p;
    Fd fd(::open(open_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0) fail_errno("open", open_path.string());
    if (fault::point(fault::Op::kSync)) {
      errno = EIO;
      fail_errno("sync the file system of", p.string());
    }
    if (::syncfs(fd.get()) != 0) fail_errno("sync the file system of", p.string());
  }
}

using Producer = std::function<void(const std::function<void(std::string_view)>&)>;

namespace {

// Small pieces (JSONL rows) are gathered into writes of up to 1 MiB; a large
// one (a media file) is written as it is, without a copy into the buffer.
void write_buffered(int fd, std::string& buffer, std::string_view piece, const fs::path& path) {
  constexpr size_t kBuffer = 1 << 20, kDirect = 64 << 10;
  if (piece.size() >= kDirect || buffer.size() + piece.size() > kBuffer) {
    write_all(fd, buffer, path.string());
    buffer.clear();
  }
  if (piece.size() >= kDirect) write_all(fd, piece, path.string());
  else buffer.append(piece);
}

void finish_file(int fd, std::string& buffer, const fs::path& path, mode_t mode, Durable durable) {
  write_all(fd, buffer, path.string());
  buffer.clear();
  if (::fchmod(fd, mode) != 0) fail_errno("chmod", path.string());
  if (durable == Durable::kNow && checked_fsync(fd) != 0) fail_errno("fsync", path.string());
  // Later: start writing the bytes to disk now, without waiting, so the
  // caller's syncfs finds most of them written (a hint: errors show there).
  if (durable == Durable::kLater) std::ignore = ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

// The temporary beside the file, then rename.
void write_beside(const fs::path& path, mode_t mode, Durable durable, const Producer& produce) {
  fs::path tmp = path.parent_path() / temporary_name();
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) fail_errno("create", tmp.string());
  try {
    std::string buffer;
    produce([&](std::string_view piece) { write_buffered(fd.get(), buffer, piece, path); });
    finish_file(fd.get(), buffer, path, mode, durable);
    if (::close(fd.release()) != 0) fail_errno("close", path.string());
    if (rename_file(tmp.c_str(), path.c_str()) != 0) fail_errno("rename into place", path.string());
  } catch (...) {
    std::ignore = ::unlink(tmp.c_str());  // best effort: the temporary is garbage now
    throw;
  }
}

}  // namespace

PendingFile::PendingFile(const fs::path& path, const fs::path& tmp_dir) : path_(path), tmp_dir_(tmp_dir) {
  // The inode is allocated beside its folder, as cp's would be, not among
  // every other file of a checkout in tmp_dir (on ext4 that one group's scan
  // past recently deleted inodes was most of a checkout's time); a kill
  // leaves nothing, and a new file needs no rename across folders (which the
  // kernel serializes file system wide).
  static const bool proc_fds = ::access("/proc/self/fd", X_OK) == 0;  // linkat names the inode through it
  const fs::path folder = path.parent_path();
  if (proc_fds) fd_ = ::open(folder.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd_ >= 0) return;
  // No O_TMPFILE here: a named temporary, beside the file when tmp_dir is
  // on another file system (a mount inside the working folder).
  struct stat a, b;
  const bool same_fs = ::stat(folder.c_str(), &a) == 0 && ::stat(tmp_dir.c_str(), &b) == 0 && a.st_dev == b.st_dev;
  const fs::path tmp = (same_fs ? tmp_dir : folder) / temporary_name();
  fd_ = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0) fail_errno("create", tmp.string());
  tmp_ = tmp;
}

PendingFile::~PendingFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) std::ignore = ::unlink(tmp_.c_str());  // best effort: unpublished, so garbage
}

void PendingFile::write(std::string_view piece) {
  assert(fd_ >= 0);
  size_ += piece.size();
  write_buffered(fd_, buffer_, piece, path_);
}

void PendingFile::publish(mode_t mode, Durable durable) {
  assert(fd_ >= 0);
  finish_file(fd_, buffer_, path_, mode, durable);
  if (tmp_.empty()) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd_);
    auto link_as = [&](const fs::path& name) {
      if (fault::point(fault::Op::kRename)) return errno = EIO, -1;
      return ::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW);
    };
    // A new file is linked under its name; one already there is replaced
    // by a rename, so a reader sees the old file or the new one.
    if (link_as(path_) != 0) {
      if (errno != EEXIST) fail_errno("create", path_.string());
      fs::path tmp = tmp_dir_ / temporary_name();
      if (link_as(tmp) != 0) {
        if (errno != EXDEV) fail_errno("create", tmp.string());
        tmp = path_.parent_path() / temporary_name();  // tmp_dir is on another file system
        if (link_as(tmp) != 0) fail_errno("create", tmp.string());
      }
      tmp_ = tmp;
    }
  }
  if (!tmp_.empty()) {
    if (rename_file(tmp_.c_str(), path_.c_str()) != 0) fail_errno("rename into place", path_.string());
    tmp_.clear();
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail_errno("close", path_.string());
}

void write_file_atomic(const fs::path& path, mode_t mode, const fs::path& tmp_dir, Durable durable,
                       const Producer& produce) {
  if (tmp_dir.empty()) {
    write_beside(path, mode, durable, produce);
    return;
  }
  PendingFile file(path, tmp_dir);
  produce([&](std::string_view piece) { file.write(piece); });
  file.publish(mode, durable);
}

void write_file_atomic(const fs::path& path, std::string_view bytes, mode_t mode) {
  write_file_atomic(path, mode, [&](const auto& write) { write(bytes); });
}

void remove_with_empty_parents(const fs::path& root, const std::string& rel) {
  std::error_code ec;
  fs::remove(root / rel, ec);
  for (fs::path dir = (root / rel).parent_path(); dir != root; dir = dir.parent_path())
    if (!fs::remove(dir, ec)) break;  // only empty folders go
}

void sync_dir(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) fail_errno("open folder", dir.string());
  if (checked_fsync(fd.get()) != 0) fail_errno("fsync folder", dir.string());
}

std::string relative_to_root(const fs::path& root, const fs::path& cwd, const std::string& path) {
  fs::path p(path);
  fs::path abs = (p.is_absolute() ? p : cwd / p).lexically_normal();
  fs::path rel = abs.lexically_relative(root);
  std::string s = rel.generic_string();
  if (s == "." || s.empty()) return "";
  if (!s.empty() && s.back() == '/') s.pop_back();
  if (s == ".." || s.rfind("../", 0) == 0 || rel.is_absolute())
    fail(ErrorCode::kInvalidInput,
         "'" + path + "' is outside the repository " + root.string());
  if (s == ".kura" || s.rfind(".kura/", 0) == 0)
    fail(ErrorCode::kInvalidInput, "'" + path + "' is inside .kura/, which kura manages itself");
  return s;
}

namespace {

// `name` as a case-insensitive, HFS+ or NTFS file system sees it: ASCII
// lowercased, HFS+-ignorable code points dropped, an NTFS stream suffix
// (":...") and trailing dots and spaces cut.
std::string fold_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(name[i + k]); };
    if (i + 2 < name.size() && b(0) == 0xE2 &&
        ((b(1) == 0x80 && ((b(2) >= 0x8C && b(2) <= 0x8F) || (b(2) >= 0xAA && b(2) <= 0xAE))) ||
         (b(1) == 0x81 && b(2) >= 0xAA && b(2) <= 0xAF))) {
      i += 2;  // U+200C..U+200F, U+202A..U+202E, U+206A..U+206F
      continue;
    }
    if (i + 2 < name.size() && b(0) == 0xEF && b(1) == 0xBB && b(2) == 0xBF) {
      i += 2;  // U+FEFF
      continue;
    }
    if (name[i] == ':') break;
    out.push_back(static_cast<char>(std::tolower(b(0))));
  }
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

std::string reserved_name_reason(std::string_view name, bool top_level) {
  const std::string folded = fold_name(name);
  const bool git = folded == ".git" || folded == "git~1";
  const bool kura = top_level && (folded == ".kura" || folded == "kura~1");
  if (!git && !kura) return "";
  const char* real = git ? ".git" : ".kura";
  if (name == real) return git ? "'.git' is git's own folder" : "'.kura' is kura's own folder";
  return "'" + std::string(name) + "' is " + real +
         " on case-insensitive, Windows or macOS file systems (case, trailing dots or spaces, short name or "
         "ignored Unicode characters)";
}

void check_tree_path(const std::string& path) {
  auto refuse = [&](const std::string& why) {
    fail(ErrorCode::kInvalidInput, "refusing to write '" + path + "': " + why);
  };
  if (path.empty()) refuse("empty path");
  if (path.front() == '/') refuse("absolute path");
  size_t start = 0;
  bool first = true;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string_view part(path.data() + start, end - start);
    if (part.empty() || part == "." ) refuse("empty or '.' path component");
    if (part == "..") refuse("it would land outside the working folder");
    if (part.find('\0') != std::string_view::npos) refuse("NUL in path");
    if (std::string why = reserved_name_reason(part, first); !why.empty()) refuse(why);
    first = false;
    start = end + 1;
  }
}

void check_no_symlink_parents(const fs::path& root, const std::string& path) {
  size_t pos = 0;
  while ((pos = path.find('/', pos)) != std::string::npos) {
    std::string prefix = path.substr(0, pos);
    struct stat st;
    if (::lstat((root / prefix).c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      std::error_code ec;
      auto target = fs::read_symlink(root / prefix, ec);
      fail(ErrorCode::kInvalidInput, "refusing to write '" + path + "': '" + prefix +
                                         "' is a symlink (to '" + target.string() +
                                         "') and writing through it could leave the working folder");
    }
    ++pos;
  }
}

int64_t fs_now_ns(const fs::path& dir) {
  fs::path probe = dir / "clock";
  Fd fd(::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) fail_errno("create", probe.string());
  write_all(fd.get(), "t", probe.string());
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) fail_errno("stat", probe.string());
  return ns(st.st_mtim);
}

}  // namespace kura
