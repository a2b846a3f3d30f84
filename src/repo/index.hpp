// The staging index and the stat cache, both tables in the store keyed by
// repository-relative path.
//   index:     path -> entry  (what the next commit will hold)
//   statcache: path -> stat fingerprint + entry (what the working file was
//              when kura last read it), so an unchanged file is not read again.
// entry: 0x01 | varint mode | kind | 32 object | varint size | varint rows |
//        32 file sha | 20 pointer blob id
#pragma once

#include <git2.h>
#include <sys/stat.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kura/repo.hpp"

namespace kura {

std::string encode_entry(const FileEntry& entry);
FileEntry decode_entry(std::string_view path, std::string_view bytes);

// What the stat cache compares: a file whose fingerprint is unchanged (and
// was settled, not modified in the same clock tick as it was read) is taken
// as unchanged.
struct StatPrint {
  uint64_t size = 0, ino = 0, dev = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  uint32_t mode = 0;
  static StatPrint of(const struct stat& st);
  friend bool operator==(const StatPrint&, const StatPrint&) = default;
};

struct CachedEntry {
  StatPrint stat;
  FileEntry entry;
};

std::string encode_cached(const CachedEntry& cached);
std::optional<CachedEntry> decode_cached(std::string_view path, std::string_view bytes);

// All index entries, in path order.
std::map<std::string, FileEntry> load_index(const Store& store);
// The entries at or under each of `specs` (repository-relative; "" is the
// whole index) and those at any folder above a spec (a file that a spec's
// folder would replace), in path order.
std::map<std::string, FileEntry> load_index(const Store& store, const std::vector<std::string>& specs);

// What a tree needs of an index entry: decoded without the rest of it, as
// a commit of a large folder reads every entry.
struct TreeItem {
  std::string path;
  uint32_t mode = 0;
  git_oid oid{};
};
std::vector<TreeItem> load_tree_items(const Store& store);

// The git mode for a stat result: 0100755 when any execute bit is set.
uint32_t git_mode(const struct stat& st);

}  // namespace kura
