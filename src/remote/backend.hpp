// The storage under a remote: keys ("objects/ab/<hex>", "refs/heads/main")
// mapped to bytes. One small interface, one file per backend (folder.cpp,
// s3.cpp), in the manner of libgit2's odb backends; push and fetch know only
// this. Every method may be called from several threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kura/object_id.hpp"
#include "kura/remote.hpp"

namespace kura::remote {

struct BackendCounters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> bytes_up{0}, bytes_down{0};
};

class Backend {
 public:
  virtual ~Backend() = default;
  // The remote's URL, for messages.
  virtual const std::string& url() const = 0;
  // The bytes stored under `key`, nullopt when absent. Error(kIo) on a
  // transport failure.
  virtual std::optional<std::string> get(const std::string& key) = 0;
  // Stores `bytes` under `key`, atomically (readers see all or nothing).
  // `sha256` of the bytes, when the caller knows it, lets a backend have the
  // receiver verify the upload.
  virtual void put(const std::string& key, std::string_view bytes, const ObjectId* sha256) = 0;
  virtual bool exists(const std::string& key) = 0;
  // Calls fn for every key starting with `prefix`.
  virtual void list(const std::string& prefix,
                    const std::function<void(const std::string& key)>& fn) = 0;
  virtual void remove(const std::string& key) = 0;

  // A ref's value and a version token for put_if (empty when absent).
  struct Versioned {
    std::optional<std::string> value;
    std::string version;
  };
  virtual Versioned get_versioned(const std::string& key) = 0;
  // Writes `value` only if `key` still has version `expected` (empty: only
  // if absent). False when someone else changed it.
  virtual bool put_if(const std::string& key, std::string_view value,
                      const std::string& expected) = 0;
  // Makes sure the store exists (an S3 bucket), creating it when absent.
  virtual void prepare_for_writes() {}

  virtual unsigned connections() const = 0;
  BackendCounters& counters() { return counters_; }

 protected:
  BackendCounters counters_;
};

// Opens the backend for a remote's URL (no network traffic yet).
std::unique_ptr<Backend> open_backend(const RemoteSettings& settings);
std::unique_ptr<Backend> open_folder_backend(const std::string& url, const std::string& path,
                                             unsigned connections);
std::unique_ptr<Backend> open_s3_backend(const RemoteSettings& settings);
// A working repository (a folder holding .kura/) read as a remote: fetch and
// clone only (repo_backend.cpp).
std::unique_ptr<Backend> open_repo_backend(const std::string& url, const std::string& path);

// Key names (the layout in include/kura/remote.hpp).
std::string object_key(const ObjectId& id);
std::string pack_key(const ObjectId& pack_id);

// A pack: the git objects one push adds (commits, trees, pointer blobs,
// tags), in one remote object named by its SHA-256, so a push of 10,000 new
// files costs one request for their metadata, not 10,000. Format:
//   "KURAPACK1\n", then per object: 20-byte git id, 1-byte type,
//   8-byte little-endian size, the data.
std::string encode_pack(const std::vector<GitObject>& objects);
// Parses a pack and checks every object against its git id; nullopt when
// the bytes are malformed, truncated or any object does not match.
std::optional<std::vector<GitObject>> decode_pack(std::string_view bytes);

}  // namespace kura::remote
