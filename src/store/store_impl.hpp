// The store's RocksDB handles, shared by store.cpp (reads and writes) and
// store_repair.cpp (files, verification, rebuilding a damaged table).
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kura/store.hpp"

namespace kura {

// Column family names by position: default, objects, object_times, then
// Table's order. Store::table_names() lists all but the default.
inline const char* const kFamilyNames[] = {"default", "objects", "object_times", "index", "statcache",
                                           "meta",    "git",     "checks",       "runs"};
constexpr size_t kFamilyCount = sizeof kFamilyNames / sizeof kFamilyNames[0];
constexpr size_t kFirstTable = 3;
// A table being rebuilt is copied to "repair.<name>" first; a key
// "rebuild:<name>" in the default family says that copy is complete.
constexpr std::string_view kRepairPrefix = "repair.";
constexpr std::string_view kRebuildMarker = "rebuild:";

struct Store::Impl {
  std::filesystem::path dir;
  bool read_only = false;
  std::unique_ptr<rocksdb::Env> fault_env;  // tests only (util/fault.hpp); outlives db
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;  // kFamilyNames' order
  std::vector<rocksdb::ColumnFamilyHandle*> handles;         // same order, then any repair.* families
  rocksdb::ColumnFamilyHandle* objects = nullptr;
  rocksdb::ColumnFamilyHandle* times = nullptr;
  rocksdb::ColumnFamilyHandle* tables[kFamilyCount - kFirstTable] = {};
  // Two threads storing the same new object (an image in two files) would
  // both write it; a stripe lock per id makes the second one a dedup.
  std::mutex stripes[64];

  // After one failed write nothing more is asked of RocksDB: its debug
  // builds (Debian's among them) assert when a log that failed a write is
  // synced, and a half-failed command must stop, not go on writing.
  std::mutex failure_mu;
  std::string failure;  // the first failed write, "" when none
  // Error(kIo) once a write has failed in this process.
  void before_write();
  // check(s, what), remembering the first failure.
  void after_write(const rocksdb::Status& s, const std::string& what);

  ~Impl();
  rocksdb::ColumnFamilyHandle* cf(Table t) const { return tables[static_cast<size_t>(t)]; }
  // Position in kFamilyNames of `name`; Error(kInvalidInput) for an unknown table.
  size_t family(std::string_view name) const;
  void bind();  // objects, times, tables from handles
  // Finishes a rebuild that a crash interrupted (store_repair.cpp).
  void finish_rebuilds();
  // Steps 2 and 3 of a rebuild: the table afresh, the copy moved back.
  void finish_rebuild(size_t at, rocksdb::ColumnFamilyHandle* copy);
  // The table of a complete "rebuild:" marker, if any.
  std::optional<std::string> pending_rebuild() const;
};

// The one-line error for an open that RocksDB refused because of one file:
// which file, which table it holds (read from the store opened tolerantly),
// and what to run.
std::string explain_damaged_file(const std::filesystem::path& dir, const std::string& message);

// Throws kura::Error for a failed status: kCorrupt, kLocked or kIo, with
// `what` and RocksDB's reason. The only translation of rocksdb::Status.
void check(const rocksdb::Status& s, const std::string& what);

// RocksDB's reason without its code and without the file name it appends.
std::string reason_of(const rocksdb::Status& s);

// The store file a RocksDB message names ("/x/store/000012.sst"), or "".
std::string file_named_in(const std::string& message);

}  // namespace kura
