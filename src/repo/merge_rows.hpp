// Row-level three-way merge of one table (docs/merge.md): the rows of the
// merge base, of ours and of theirs, as row ids in order, become one merged
// sequence of rows, with a conflict in the place of each row that both
// sides changed differently.
//
// Each side is aligned with the base as `kura diff` aligns two versions:
// by row id (common prefix and suffix, patience anchors, Myers), then, in
// each stretch of differing rows, removed base rows are paired with added
// side rows as modified ones: by the key's value when `key` (a JSON
// pointer such as "/id") is given, else in order when the counts agree,
// else by similarity (order kept). Then, per base row:
//   unchanged on both sides                    -> kept
//   changed (or deleted) on one side only      -> that side's version
//   changed the same way on both sides         -> taken once
//   changed differently, or changed and deleted -> a conflict of that row
// Rows a side inserted go where that side put them, relative to the base
// rows around; at one place, ours' insertions come first, then theirs'
// (a row both inserted at the same place is kept once). A row's line end is
// merged on its own: a side that changed it (CRLF to LF) wins over one that
// did not. A row without a line end that is no longer the last row gets
// the line end of the row before it (LF at the start).
//
// A modified row is one unit: two sides changing different messages of the
// same row conflict (docs/merge.md says why).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kura/objects.hpp"

namespace kura {

class Store;

enum class RowConflictKind { kBothChanged, kOursDeleted, kTheirsDeleted };
const char* row_conflict_name(RowConflictKind kind);  // "both changed", "deleted by ours", ...

struct RowConflict {
  RowConflictKind kind = RowConflictKind::kBothChanged;
  uint64_t base_line = 0, ours_line = 0, theirs_line = 0;  // 1-based; 0: the side deleted the row
  RowRef base, ours, theirs;                                // a zero row id: absent on that side
};

// One place of the merged table: a row, or conflict number `conflict`.
struct MergedRow {
  RowRef row;
  int64_t conflict = -1;
};

struct RowMerge {
  std::vector<MergedRow> rows;
  std::vector<RowConflict> conflicts;
  // Not empty when a side's version is not JSONL (a line that is not JSON
  // among the rows it changed): "ours' line 12 is not JSON". The merge then
  // stops at the file level and `rows` is empty.
  std::string invalid;
  uint64_t changes_from_ours = 0, changes_from_theirs = 0, changes_on_both = 0;  // rows, per base row or insertion
};

// Merges the three versions; `key` is a JSON pointer or "" (by content and
// place). Reads only the rows that differ from the base. Thread-safe given
// a thread-safe Store.
RowMerge merge_rows(const Store& store, const std::vector<RowRef>& base, const std::vector<RowRef>& ours,
                    const std::vector<RowRef>& theirs, const std::string& key);

// The merged file's bytes. Each conflict is written as a block a person
// resolves in an editor, its marker lines ending like the base row (CRLF or LF):
//   <<<<<<< ours: line 12        (or "<<<<<<< ours: deleted", and no row)
//   {ours' row}
//   ||||||| base: line 10
//   {the base row}
//   =======
//   {theirs' row}
//   >>>>>>> theirs: line 11
// `conflict_lines` (when given) receives the merged file's line of each
// block's first marker, in conflict order.
std::string render_merge(const Store& store, const RowMerge& merge, std::vector<uint64_t>* conflict_lines = nullptr);

// True when `body` (a line without its end) is one of the marker lines above.
bool is_conflict_marker(std::string_view body);

}  // namespace kura
