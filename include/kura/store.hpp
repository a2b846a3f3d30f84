// Store is kura's embedded key-value store: one RocksDB database under
// .kura/store with a column family per kind of data. It knows nothing of files
// or commits.
//
//   objects       ObjectId (32 raw bytes) -> the object's bytes. Values of 2 KiB
//                 and more live in BlobDB blob files, uncompressed (media is
//                 already compressed); smaller ones (JSONL rows) in LZ4 tables.
//   object_times  ObjectId -> when it was first stored (gc's grace period);
//                 also the cheap "does it exist" answer, so a dedup check never
//                 reads a multi-megabyte value.
//   index, statcache, meta, git, checks, runs: small tables used by the layers
//                 above (see docs/architecture.md for their formats).
//
// Object writes skip the write-ahead log (they are the bulk of the bytes) and
// become durable with sync_objects(), which flushes them atomically; a caller
// must call it before it writes anything that refers to them (the index, a
// ref). Table writes go through the WAL and are durable when written with
// Sync::kYes. RocksDB's own LOCK keeps a second process out; kura's repository
// lock (repo layer) serialises processes before they get here.
//
// Thread safety: every method may be called from several threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kura/object_id.hpp"

namespace kura {

enum class Table { kIndex, kStatCache, kMeta, kGit, kChecks, kRuns };
enum class Sync { kNo, kYes };
// kInspect and kRepair are fsck's: they open a store whose table files are
// damaged or missing (RocksDB then fails only the reads that need them) and
// run no background compaction; kInspect writes nothing, kRepair may.
enum class Access { kReadWrite, kReadOnly, kInspect, kRepair };

// How Store::get_objects() makes sure the bytes it returns are the ones stored.
//   kSha256:   re-hashes every object and compares it with its id (Error
//              kCorrupt naming the object). RocksDB's own block and blob
//              checksums are skipped: SHA-256 is the stronger check, and with
//              the CPU's SHA instructions faster than the software CRC32C of
//              Debian's portable RocksDB build (a sixth of 'kura show').
//   kByCaller: neither: the caller hashes what it builds from the objects and
//              compares that with a SHA-256 it already trusts (read_table()
//              checks the whole file against its pointer), so that every byte
//              is still verified, once.
enum class ObjectCheck { kSha256, kByCaller };

// A file of the store on disk and the table whose data it holds.
struct StoreFile {
  enum class Kind { kTable, kBlob };  // an SST file, or a BlobDB blob file (objects only)
  std::string table;                  // "objects", "object_times", "index", ... (table_names())
  std::filesystem::path path;
  Kind kind = Kind::kTable;
  uint64_t size = 0;                   // as RocksDB recorded it
  std::string smallest, largest;       // key range; tables only
};

// One place where a table could not be read.
struct StoreDamage {
  std::string table;
  std::string key;      // the key that could not be read; empty: keys unknown (a damaged block or file)
  std::string file;     // the store file RocksDB named, when it named one
  std::string message;  // RocksDB's reason, one line
};

// Work counters, so tests can assert the work done instead of timing it.
struct StoreCounters {
  std::atomic<uint64_t> objects_written{0};  // new objects stored
  std::atomic<uint64_t> objects_deduped{0};  // puts of objects already present
  std::atomic<uint64_t> bytes_written{0};    // bytes of new objects
  std::atomic<uint64_t> objects_read{0};
};

// A group of table writes applied atomically by Store::write().
class TableBatch {
 public:
  TableBatch();
  ~TableBatch();
  TableBatch(TableBatch&&) noexcept;
  TableBatch& operator=(TableBatch&&) noexcept;
  void put(Table table, std::string_view key, std::string_view value);
  void erase(Table table, std::string_view key);
  size_t size() const;

 private:
  friend class Store;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Store {
 public:
  // Opens (creating when `create` is true) the store in `dir`. Throws
  // Error(kIo) naming the folder when RocksDB refuses, and Error(kCorrupt)
  // naming the file, its table and 'kura fsck --repair' when a table file is
  // missing, truncated or damaged. A read-only store writes nothing on open
  // (cheaper) and refuses every write.
  static std::unique_ptr<Store> open(const std::filesystem::path& dir, bool create,
                                     Access access = Access::kReadWrite);
  ~Store();
  // False for a store opened read-only (Access::kReadOnly, kInspect), whose
  // writes all fail with Error(kIo): a cache that is optional asks this
  // instead of catching the error, so a real write failure is never hidden.
  bool writable() const;

  // --- objects -----------------------------------------------------------
  // Stores `bytes` under sha256(bytes) unless already present; returns the id.
  ObjectId put_object(std::string_view bytes);
  // Same, for a caller that already hashed the bytes. The caller vouches for
  // the id; fsck re-hashes every object and reports a mismatch.
  void put_object(const ObjectId& id, std::string_view bytes);
  bool has_object(const ObjectId& id) const;
  // The object's bytes, or nullopt when absent. Does not re-hash.
  std::optional<std::string> get_object(const ObjectId& id) const;
  // The bytes, or Error(kNotFound) "object <id> not found".
  std::string read_object(const ObjectId& id) const;
  // Many objects at once, in the order of `ids` (RocksDB's batched MultiGet:
  // index and blob-file reads sorted, one pass over each block), checked as
  // `check` says; an absent one is fetched on demand (set_missing_object_fn)
  // or is nullopt.
  std::vector<std::optional<std::string>> get_objects(const std::vector<ObjectId>& ids, ObjectCheck check) const;
  // Unix seconds at which the object was first stored, nullopt when absent.
  std::optional<int64_t> object_time(const ObjectId& id) const;
  // Calls fn(id, time stored) for every object in id order, reading no
  // values; stops when fn returns false.
  void for_each_object_id(const std::function<bool(const ObjectId&, int64_t time)>& fn) const;
  // The ids of the stored objects whose hex form starts with `hex_prefix`
  // (hex digits, either case; Error(kInvalidInput) for anything else), in
  // id order, at most `limit`: a short id's candidates, as git's
  // exists_prefix finds them. One seek, no values read.
  std::vector<ObjectId> find_objects(std::string_view hex_prefix, size_t limit) const;
  void erase_objects(const std::vector<ObjectId>& ids);
  // Makes every object written so far durable (atomic memtable flush).
  void sync_objects();

  // --- small tables ------------------------------------------------------
  std::optional<std::string> get(Table table, std::string_view key) const;
  // Many look-ups at once (RocksDB's batched MultiGet: one pass over each
  // block, far cheaper than one get per key for thousands of keys).
  std::vector<std::optional<std::string>> get_many(Table table, const std::vector<std::string>& keys) const;
  void put(Table table, std::string_view key, std::string_view value, Sync sync = Sync::kNo);
  void erase(Table table, std::string_view key, Sync sync = Sync::kNo);
  void write(TableBatch& batch, Sync sync);
  // Calls fn(key, value) for keys starting with `prefix`, in key order.
  void scan(Table table, std::string_view prefix,
            const std::function<bool(std::string_view key, std::string_view value)>& fn) const;
  // The first key >= `from` in `table`, with its value; for prefix lookups.
  std::optional<std::pair<std::string, std::string>> seek(Table table, std::string_view from) const;
  // Makes every table write so far durable (fsyncs the write-ahead log).
  void sync_tables();
  // Writes every table's memtable to a table file (tests that damage files).
  void flush();

  // Reclaims space after erasures (compaction, blob garbage collection).
  void compact();
  // Bytes on disk under the store folder.
  uint64_t disk_usage() const;

  StoreCounters& counters() { return counters_; }

  // --- integrity (fsck) --------------------------------------------------
  // Every table's name: "objects", "object_times", then Table's, in order.
  static std::vector<std::string> table_names();
  // The live files of every table, from RocksDB's metadata.
  std::vector<StoreFile> files() const;
  // Reads every entry of `table` (a name from table_names()), verifying
  // block and blob checksums, and calls fn(key, value) for each entry that
  // can be read, in key order. A damaged block does not stop it: the
  // damage is appended to `damage`, and the keys past it are found in the
  // table's other files, in the memtables and in `known_keys` (keys that
  // other tables say exist, e.g. object ids from object_times), each read
  // on its own, so every key that can be read is read and every known key
  // that cannot is named.
  void verify(std::string_view table, const std::vector<std::string>& known_keys,
              const std::function<void(std::string_view key, std::string_view value)>& fn,
              std::vector<StoreDamage>& damage) const;
  // Rewrites `table` with the entries verify() can read and keep() accepts,
  // dropping every file it had (the damaged ones with them): the readable
  // entries are copied to a side table, the table is dropped and created
  // afresh, and the copy moved back. Crash-safe: a later read-write open
  // finishes an interrupted rebuild. Returns the entries kept. Not to be
  // called while other threads use the store.
  uint64_t rebuild(std::string_view table, const std::vector<std::string>& known_keys,
                   const std::function<bool(std::string_view key, std::string_view value)>& keep);

  // Called by get_object()/read_object() for an object absent from the
  // store (a partial clone fetching on demand): returns its bytes, already
  // verified, or nullopt. Must be thread-safe. Empty function: none.
  using MissingObjectFn = std::function<std::optional<std::string>(const ObjectId&)>;
  void set_missing_object_fn(MissingObjectFn fn);

 private:
  Store();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  mutable StoreCounters counters_;
  std::shared_ptr<const MissingObjectFn> missing_object_fn_;  // read with atomic_load
};

}  // namespace kura
