#include "export/output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "kura/error.hpp"
#include "kura/image_facts.hpp"
#include "kura/objects.hpp"
#include "kura/store.hpp"
#include "util/base64.hpp"
#include "util/fs.hpp"
#include "util/parallel.hpp"

namespace kura::exporter {

namespace fs = std::filesystem;

namespace {

constexpr size_t kBufferSize = 1 << 20;
// Raw bytes base64-encoded into the buffer at a time (a multiple of 3, so
// that the pieces' encodings join into the whole's).
constexpr size_t kBase64Piece = 3 * (1 << 16);

std::pair<std::string, std::string> type_of(std::string_view bytes) {
  switch (sniff_image_format(bytes)) {
    case ImageFormat::kJpeg: return {"jpg", "image/jpeg"};
    case ImageFormat::kPng: return {"png", "image/png"};
    case ImageFormat::kWebp: return {"webp", "image/webp"};
    case ImageFormat::kGif: return {"gif", "image/gif"};
    case ImageFormat::kBmp: return {"bmp", "image/bmp"};
    case ImageFormat::kTiff: return {"tiff", "image/tiff"};
    case ImageFormat::kHeif: return {"heif", "image/heif"};
    default: return {"bin", "application/octet-stream"};
  }
}

// The process's umask, read without changing it (umask() would, for every
// thread); all bits when it cannot be read, so that every file gets its fchmod.
mode_t process_umask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
  return 07777;
}

}  // namespace

Output::Output(fs::path root, Mode mode, const Store& store)
    : root_(std::move(root)), mode_(mode), store_(store), umask_(process_umask()) {}

Output::~Output() = default;

void Output::io_error(const std::string& rel, int err) const {
  fail(ErrorCode::kIo, "cannot write '" + (root_ / rel).string() + "': " + std::strerror(err) +
                           "; the export is incomplete and has no kura-export.json (free space or fix the "
                           "folder's permissions, then export again with --force)");
}

void Output::make_parent(const std::string& rel) {
  const size_t slash = rel.rfind('/');
  if (slash != std::string::npos && dirs_.insert(rel.substr(0, slash)).second) {
    std::error_code ec;
    fs::create_directories(root_ / rel.substr(0, slash), ec);
    if (ec) io_error(rel.substr(0, slash), ec.value());
  }
}

// Creates the file (its folder made beforehand by make_parent). A new file
// has `mode` less the umask, so it needs no fchmod unless the umask clears
// one of its bits; a file already there (--force over foreign files) is
// truncated and given `mode`.
int Output::create(const std::string& rel, mode_t mode) const {
  const std::string path = (root_ / rel).string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  bool chmod = (mode & umask_) != 0;
  if (fd < 0 && errno == EEXIST) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    chmod = true;
  }
  if (fd < 0) io_error(rel, errno);
  if (chmod && ::fchmod(fd, mode) != 0) {
    const int err = errno;
    ::close(fd);
    io_error(rel, err);
  }
  return fd;
}

void Output::record(const std::string& rel, std::string sha, uint64_t bytes) {
  files_[rel] = {std::move(sha), bytes};
  bytes_ += bytes;
}

Output::File::File(Output& out, std::string rel, mode_t mode) : out_(out), rel_(std::move(rel)) {
  if (out_.mode_ == Mode::kWrite) {
    out_.make_parent(rel_);
    fd_ = out_.create(rel_, mode);
  }
  buffer_.reserve(kBufferSize);
}

Output::File::~File() {
  behind_.reset();  // its thread may be writing to fd_
  if (fd_ >= 0) ::close(fd_);
}

void Output::File::flush() {
  if (buffer_.empty()) return;
  if (!behind_) behind_ = std::make_unique<WriteBehind>(fd_, sha_);
  buffer_ = behind_->push(std::move(buffer_));
  if (buffer_.capacity() < kBufferSize) buffer_.reserve(kBufferSize);
  if (int err = behind_->error()) out_.io_error(rel_, err);
}

void Output::File::drain() const {
  if (!behind_) return;
  behind_->drain();
  if (int err = behind_->error()) out_.io_error(rel_, err);
}

void Output::File::write(std::string_view bytes) {
  bytes_ += bytes.size();
  while (!bytes.empty()) {
    if (buffer_.size() == kBufferSize) flush();
    const std::string_view piece = bytes.substr(0, kBufferSize - buffer_.size());
    buffer_.append(piece);
    bytes.remove_prefix(piece.size());
  }
}

void Output::File::write_base64(std::string_view raw) {
  bytes_ += base64_size(raw.size());
  for (size_t at = 0; at < raw.size(); at += kBase64Piece) {
    const std::string_view piece = raw.substr(at, kBase64Piece);
    if (buffer_.size() + base64_size(piece.size()) > kBufferSize) flush();
    base64_append(piece, buffer_);
  }
}

Sha256 Output::File::hash_so_far() const {
  drain();
  Sha256 h(sha_);
  h.update(buffer_);
  return h;
}

void Output::File::close() {
  if (closed_) return;
  if (behind_) {
    flush();
    drain();
    behind_.reset();
  } else {
    // A file that never filled its buffer is written here (no thread).
    sha_.update(buffer_);
    if (fd_ >= 0)
      if (int err = write_fully(fd_, buffer_)) out_.io_error(rel_, err);
  }
  buffer_.clear();
  if (fd_ >= 0 && ::close(fd_) != 0) {
    fd_ = -1;
    out_.io_error(rel_, errno);
  }
  fd_ = -1;
  closed_ = true;
  out_.record(rel_, sha_.finish().hex(), bytes_);
}

std::unique_ptr<Output::File> Output::open(const std::string& rel, mode_t mode) {
  return std::unique_ptr<File>(new File(*this, rel, mode));
}

void Output::write_whole(const std::string& rel, std::string_view bytes) {
  auto f = open(rel);
  f->write(bytes);
  f->close();
}

void Output::write_link(const std::string& rel, const std::string& target) {
  if (mode_ == Mode::kWrite) {
    make_parent(rel);
    std::ignore = ::unlink((root_ / rel).c_str());  // --force over an earlier export
    if (::symlink(target.c_str(), (root_ / rel).c_str()) != 0) io_error(rel, errno);
  }
  record(rel, sha256(target).hex(), target.size());
}

Output::Prefetch Output::fetch(const std::vector<ObjectId>& media, ObjectCheck check) const {
  Prefetch batch;
  std::vector<ObjectId> ids;
  for (const auto& id : media)
    if (batch.images.emplace(id, Prefetch::Image()).second) ids.push_back(id);
  if (ids.empty()) return batch;
  std::vector<Prefetch::Image> got(ids.size());
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  const size_t per = (ids.size() + threads - 1) / threads;
  parallel_for(threads, threads, [&](size_t t) {
    const size_t from = t * per, to = std::min(ids.size(), from + per);
    if (from >= to) return;
    std::vector<ObjectId> part(ids.begin() + from, ids.begin() + to);
    std::vector<std::string> bytes = read_objects(store_, part, check, 1);
    for (size_t i = 0; i < part.size(); ++i) {
      Prefetch::Image& image = got[from + i];
      image.type = type_of(bytes[i]);
      image.bytes = std::move(bytes[i]);
    }
  });
  for (size_t i = 0; i < ids.size(); ++i) batch.images[ids[i]] = std::move(got[i]);
  return batch;
}

void Output::take(Prefetch batch) {
  // Shared with the FilePool jobs still writing images of the batch before.
  auto taken = std::make_shared<Prefetch>(std::move(batch));
  for (const auto& [id, image] : taken->images) types_.emplace(id, image.type);
  prefetched_ = std::move(taken);
}

const std::string& Output::image_bytes(const ObjectId& media, std::shared_ptr<const void>* keep) {
  if (prefetched_) {
    auto pre = prefetched_->images.find(media);
    if (pre != prefetched_->images.end()) {
      if (keep) *keep = prefetched_;
      return pre->second.bytes;
    }
  }
  read_now_ = std::make_shared<const std::string>(std::move(read_objects(store_, {media}, ObjectCheck::kSha256, 1)[0]));
  if (!types_.count(media)) types_[media] = type_of(*read_now_);
  if (keep) *keep = read_now_;
  return *read_now_;
}

const std::string& Output::image_bytes(const ObjectId& media) { return image_bytes(media, nullptr); }

std::string Output::image_base64(const ObjectId& media) { return base64_encode(image_bytes(media)); }

std::pair<std::string, std::string> Output::image_type(const ObjectId& media) {
  auto it = types_.find(media);
  if (it != types_.end()) return it->second;
  std::ignore = image_bytes(media);
  return types_.at(media);
}

std::string Output::image(const std::string& dir, const ObjectId& media, std::string* mime) {
  auto& in_dir = written_[dir];
  auto it = in_dir.find(media);
  if (it != in_dir.end()) {
    if (mime) *mime = types_.at(media).second;
    return it->second;
  }
  std::shared_ptr<const void> keep;
  const std::string& bytes = image_bytes(media, &keep);
  const auto& [ext, type] = types_.at(media);
  const std::string prefix = dir.empty() ? "" : dir + "/";
  const std::string hex = media.hex();
  std::string rel = prefix + hex.substr(0, 16) + "." + ext;
  if (!names_.insert(rel).second) {  // two images share 64 bits of id
    rel = prefix + hex + "." + ext;
    names_.insert(rel);
  }
  if (mode_ == Mode::kWrite) {
    make_parent(rel);
    if (!pool_) pool_ = std::make_unique<FilePool>(1);
    pool_->submit([this, rel, data = std::string_view(bytes), keep = std::move(keep)] {
      const int fd = create(rel);
      if (int err = write_fully(fd, data)) {
        ::close(fd);
        io_error(rel, err);
      }
      if (::close(fd) != 0) io_error(rel, errno);
    });
  }
  record(rel, hex, bytes.size());
  ++images_;
  image_bytes_ += bytes.size();
  if (mime) *mime = type;
  return in_dir[media] = rel;
}

void Output::sync() {
  if (mode_ == Mode::kHashOnly) return;
  if (pool_) pool_->drain();
  int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) io_error(".", errno);
  if (::syncfs(fd) != 0) {
    int err = errno;
    ::close(fd);
    io_error(".", err);
  }
  ::close(fd);
}

}  // namespace kura::exporter
