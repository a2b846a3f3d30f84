// A remote in a folder (a mounted share, a USB disk): one file per key,
// written to a temporary name, fsynced and renamed, so a reader never sees
// part of an object. Ref updates take an flock on refs.lock in the folder
// and compare the ref's content before replacing it.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "kura/error.hpp"
#include "remote/backend.hpp"
#include "util/fs.hpp"

namespace kura::remote {

namespace fs = std::filesystem;

namespace {

class FolderBackend final : public Backend {
 public:
  FolderBackend(std::string url, fs::path root, unsigned connections)
      : url_(std::move(url)), root_(std::move(root)), connections_(connections) {}

  const std::string& url() const override { return url_; }
  unsigned connections() const override { return connections_; }

  std::optional<std::string> get(const std::string& key) override {
    ++counters_.requests;
    const fs::path p = root_ / key;
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
      fail_errno("read", p.string());
    }
    std::string out;
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int e = errno;
        ::close(fd);
        errno = e;
        fail_errno("read", p.string());
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    counters_.bytes_down += out.size();
    return out;
  }

  void put(const std::string& key, std::string_view bytes, const ObjectId*) override {
    ++counters_.requests;
    const fs::path p = root_ / key;
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec)
      fail(ErrorCode::kIo, "cannot create '" + p.parent_path().string() + "': " + ec.message());
    write_file_atomic(p, bytes);
    counters_.bytes_up += bytes.size();
  }

  bool exists(const std::string& key) override {
    ++counters_.requests;
    std::error_code ec;
    return fs::is_regular_file(root_ / key, ec);
  }

  void list(const std::string& prefix, const std::function<void(const std::string&)>& fn) override {
    ++counters_.requests;
    // Prefixes kura lists are folders ("objects/", "refs/").
    const fs::path dir = root_ / prefix;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      const std::string name = it->path().filename().string();
      if (name.rfind(".kura-tmp", 0) == 0) continue;  // a write in progress
      fn(it->path().lexically_relative(root_).generic_string());
    }
    if (ec) fail(ErrorCode::kIo, "cannot list '" + dir.string() + "': " + ec.message());
  }

  void remove(const std::string& key) override {
    ++counters_.requests;
    std::error_code ec;
    fs::remove(root_ / key, ec);
  }

  Versioned get_versioned(const std::string& key) override {
    Versioned v;
    v.value = get(key);
    if (v.value) v.version = *v.value;  // the content is its own version
    return v;
  }

  bool put_if(const std::string& key, std::string_view value,
              const std::string& expected) override {
    prepare_for_writes();
    const fs::path lock_path = root_ / "refs.lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) fail_errno("open the remote's lock", lock_path.string());
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }  // closing releases the flock
    } closer{fd};
    while (::flock(fd, LOCK_EX) != 0)
      if (errno != EINTR) fail_errno("lock", lock_path.string());
    auto current = get_versioned(key);
    if (current.version != expected) return false;
    put(key, value, nullptr);
    sync_dir((root_ / key).parent_path());
    return true;
  }

  void prepare_for_writes() override {
    std::error_code ec;
    fs::create_directories(root_, ec);
    if (ec)
      fail(ErrorCode::kIo,
           "cannot create the remote folder '" + root_.string() + "': " + ec.message());
  }

 private:
  std::string url_;
  fs::path root_;
  unsigned connections_;
};

}  // namespace

std::unique_ptr<Backend> open_folder_backend(const std::string& url, const std::string& path,
                                             unsigned connections) {
  return std::make_unique<FolderBackend>(url, fs::absolute(path).lexically_normal(),
                                         connections ? connections : 4);
}

}  // namespace kura::remote
