// Label distributions of tables: the assistant's answer (or a JSON pointer's
// value) counted over every row, for label drift between two versions.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "kura/object_id.hpp"

namespace kura {
class Store;
}

namespace kura::difflib {

using LabelCounts = std::map<std::string, uint64_t>;

// The label of one row body: the value at `field` (a JSON pointer; strings as
// they are, other values as JSON text), or with no field the last assistant
// message's text ("messages") or the last "gpt" turn ("conversations").
// "(none)" when there is none, "(invalid JSON)" when the body is not JSON.
std::string label_of(const std::string& body, const std::string& field);

// Counts the labels of two tables (either may be absent). Chunks both share
// are read once and counted on both sides; each chunk's counts are cached in
// the store (checks table) by chunk id and field, unless it is read-only.
void count_labels(Store& store, const std::optional<ObjectId>& old_manifest,
                  const std::optional<ObjectId>& new_manifest, const std::string& field, unsigned threads,
                  LabelCounts& old_counts, LabelCounts& new_counts);

}  // namespace kura::difflib
