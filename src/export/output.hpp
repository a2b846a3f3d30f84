// The folder an export writes, or (for --verify) only the SHA-256 of what it
// would write: every byte goes through here, so both paths hash the same
// bytes in the same order.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <unordered_set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "export/background.hpp"
#include "kura/object_id.hpp"
#include "kura/store.hpp"

namespace kura::exporter {

struct FileRecord {
  std::string sha256;  // hex
  uint64_t bytes = 0;
};

class Output {
 public:
  enum class Mode { kWrite, kHashOnly };
  Output(std::filesystem::path root, Mode mode, const Store& store);
  ~Output();

  // One file being written, buffered; close() records its SHA-256. Only one
  // text file is open at a time per writer, but images may be written while
  // it is open.
  // Bytes are hashed a megabyte at a time as the buffer goes to disk: a file
  // that fills its buffer hands the full buffers to a thread of its own
  // (WriteBehind), which hashes and writes them while the next is filled.
  class File {
   public:
    void write(std::string_view bytes);
    // Writes the base64 encoding of `raw`, encoded straight into the buffer.
    void write_base64(std::string_view raw);
    void close();
    // Bytes written so far, and the SHA-256 state after them (a copy: the
    // export's TableHash carries it on alone, derive.cpp).
    uint64_t size() const { return bytes_; }
    Sha256 hash_so_far() const;
    ~File();

   private:
    friend class Output;
    File(Output& out, std::string rel, mode_t mode);
    void flush();
    void drain() const;  // every byte so far hashed and written, or io_error
    Output& out_;
    std::string rel_;
    int fd_ = -1;
    std::string buffer_;
    Sha256 sha_;
    std::unique_ptr<WriteBehind> behind_;  // from the first full buffer on
    uint64_t bytes_ = 0;
    bool closed_ = false;
  };
  std::unique_ptr<File> open(const std::string& rel, mode_t mode = 0644);
  void write_whole(const std::string& rel, std::string_view bytes);
  // Writes a symbolic link (format `files`); its record hashes the target.
  void write_link(const std::string& rel, const std::string& target);

  // Writes media object `media` as `dir`/<16 hex of its id>.<ext> once per
  // folder and returns that path; `mime` gets its sniffed type. Error(kCorrupt)
  // when the stored bytes do not match their id. The file is created and
  // written by a worker thread (FilePool) while the caller goes on;
  // a write that failed is reported by a later image() or by sync().
  std::string image(const std::string& dir, const ObjectId& media, std::string* mime = nullptr);
  // The sniffed extension and MIME type of a media object, read once.
  std::pair<std::string, std::string> image_type(const ObjectId& media);
  // Media objects read ahead of the image calls that use them.
  struct Prefetch {
    struct Image {
      std::string bytes;
      std::pair<std::string, std::string> type;  // (ext, mime)
    };
    std::unordered_map<ObjectId, Image, ObjectIdHash> images;
  };
  // Reads these media objects on all cores, checked as `check` says (kByCaller
  // only for images whose bytes the caller hashes with their table, TableHash),
  // and sniffs their types. Touches nothing of this Output: may run on
  // another thread while it writes.
  Prefetch fetch(const std::vector<ObjectId>& media, ObjectCheck check) const;
  // Serves the image calls that follow from `batch`, until the next take().
  void take(Prefetch batch);
  // The bytes of a media object: prefetched, else read now (SHA-256-checked).
  // Valid until the next image call or take().
  const std::string& image_bytes(const ObjectId& media);
  // Its base64 encoding, for data URIs.
  std::string image_base64(const ObjectId& media);

  const std::map<std::string, FileRecord>& files() const { return files_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t images() const { return images_; }
  uint64_t image_bytes_written() const { return image_bytes_; }
  const std::filesystem::path& root() const { return root_; }
  // Waits for the image files still being written, then makes everything
  // written durable (syncfs) before the manifest seals it.
  void sync();

 private:
  friend class File;
  void make_parent(const std::string& rel);
  int create(const std::string& rel, mode_t mode = 0644) const;
  // The bytes of a media object and what keeps them alive (for FilePool jobs).
  const std::string& image_bytes(const ObjectId& media, std::shared_ptr<const void>* keep);
  [[noreturn]] void io_error(const std::string& rel, int err) const;
  void record(const std::string& rel, std::string sha, uint64_t bytes);

  std::filesystem::path root_;
  Mode mode_;
  const Store& store_;
  std::map<std::string, FileRecord> files_;
  std::unordered_set<std::string> dirs_;
  std::unordered_map<ObjectId, std::pair<std::string, std::string>, ObjectIdHash> types_;  // id -> (ext, mime)
  std::unordered_map<std::string, std::unordered_map<ObjectId, std::string, ObjectIdHash>> written_;  // dir -> id -> path
  std::unordered_set<std::string> names_;  // image paths taken
  std::shared_ptr<const Prefetch> prefetched_;
  std::shared_ptr<const std::string> read_now_;  // image_bytes() of one not prefetched
  mode_t umask_;  // of the process, read once: a new file needs fchmod only when it clears bits
  std::unique_ptr<FilePool> pool_;  // image files, from the first on
  uint64_t bytes_ = 0, images_ = 0, image_bytes_ = 0;
};

}  // namespace kura::exporter
