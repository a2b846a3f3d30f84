// Row-level comparison of two versions of a table (two row manifests).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kura/diff.hpp"
#include "kura/objects.hpp"

namespace kura {
class Store;
}

namespace kura::difflib {

struct TableDiff {
  TableStat stat;
  // Every added, removed, modified and moved row, without `changes`, `row`
  // and `images` (row_diff fills them), in the order of DiffReport's rows.
  std::vector<RowChange> rows;
};

// Compares the tables whose manifests are `old_manifest` and `new_manifest`
// (nullopt: the table does not exist on that side). `key` is a JSON pointer
// ("" to pair rows by place only). Reads only the chunks the two do not share.
TableDiff diff_table(const Store& store, const std::optional<ObjectId>& old_manifest,
                     const std::optional<ObjectId>& new_manifest, const std::string& key);

// The value at JSON pointer `key` in a row body, as JSON text; nullopt when
// the body is not JSON or has no such value.
std::optional<std::string> row_key(const std::string& body, const std::string& key);

}  // namespace kura::difflib
