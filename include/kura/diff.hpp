// Diff: what changed in a dataset between two versions, file by file, row by
// row and image by image.
//
//   DiffOptions o;                  // HEAD against the working folder
//   o.from = "v1"; o.to = "v2";     // or two commits
//   o.key = "/id";                  // match JSONL rows by a field
//   DiffReport r = diff(*repo, o);
//
// A version is a commit or the working folder. The working folder's files are
// stored on the fly (objects only; the index is not touched), as `kura check`
// does, so both sides are read the same way: from the store.
//
// Files are matched by path. A deleted and an added file with the same
// content are a rename. A media file that is an image carries its width,
// height, format and colour mode on each side.
//
// A table (.jsonl) is compared row by row. Rows are aligned by content: a
// patience diff over row ids (SHA-256 of the row with its images cut out),
// with a bounded Myers diff where no row is unique, so an unchanged row is
// never read. Chunks of the row manifest that both versions share are skipped
// whole, which makes a diff of two large versions differing in a few rows
// cost about as much as the changed rows. A row removed in one place and the
// same row added elsewhere is a move. Without a key, a removed and an added
// row in the same place (the same hunk) are paired, in order, as a modified
// row; with `key` (a JSON pointer such as "/id"), the rows left after
// alignment are paired by the key's value wherever they are, and rows without
// the key are only added or removed.
//
// A modified row is compared as JSON: every value that differs is named by
// its JSON pointer, with the message and content-part index when it lies in
// "messages" (or "conversations"), a word diff for text and, for an image,
// the object ids and facts of both images; never base64. A line that is not
// valid JSON is compared as text.
//
// Image facts come from the check layer's cache (filled at commit time by
// the checks); an image not in it is inspected once (libvips, no face scan)
// and cached. Memory is proportional to the changed rows and to the largest
// run of differing manifest chunks, not to the tables' size.
//
// diff() may be called from one thread at a time per Repo; it uses worker
// threads internally. It throws Error(kNotFound) for an unknown revision and
// Error(kCorrupt) when stored data cannot be decoded; bad data (invalid
// JSON, an image that does not decode) is never an error, only reported.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kura/objects.hpp"

namespace kura {

class Repo;

enum class DiffDetail {
  kNames,  // changed files only (no table is read)
  kStat,   // plus row counts per table (rows aligned, changed rows read)
  kFull,   // plus what changed inside each row, with image facts
};

struct DiffOptions {
  std::string from = "HEAD";  // a revision
  std::string to;             // a revision; empty: the working folder (or the index, with `staged`)
  bool staged = false;        // `to` empty: the index, what the next commit would hold (diff --staged)
  // Only files at or under these paths (relative to the current folder, or
  // absolute); empty: all.
  std::vector<std::string> paths;
  std::string key;            // JSON pointer matching rows ("/id"); empty: by content
  DiffDetail detail = DiffDetail::kFull;
  bool labels = false;        // label distributions of every table on both sides
  std::string label_field;    // JSON pointer of the label; empty: the assistant's answer
  unsigned threads = 0;       // 0: the repository's
};

// An image, by object id, with what libvips says about it. `known` is false
// when the facts were not looked up (DiffDetail below kFull).
struct DiffImage {
  ObjectId object;
  uint64_t bytes = 0;
  bool known = false;
  std::string format;   // "jpeg", "png", ..., "unknown" (not an image)
  int width = 0, height = 0;
  std::string mode;     // "rgb", "rgba", "grey", "grey+alpha", "cmyk", "palette", "16-bit rgb", ...
  bool decodes = false;
  uint64_t phash = 0;   // perceptual hash (see image_facts.hpp), 0 when it did not decode
};

// One stretch of a word diff.
struct TextSpan {
  enum class Op { kSame, kRemoved, kAdded };
  Op op = Op::kSame;
  std::string text;
};

// One value that differs inside a modified row.
struct ValueChange {
  enum class Kind { kAdded, kRemoved, kChanged };
  Kind kind = Kind::kChanged;
  std::string pointer;    // JSON pointer into the row: "/messages/1/content/0/text"; "" is the whole row
  int message = -1;       // index into "messages" / "conversations"; -1 when outside them
  int part = -1;          // index into that message's content parts; -1 when not in a part
  // The values (images shown as "[image/jpeg sha256:HEX]"); null on the side
  // where the value does not exist.
  nlohmann::json old_value, new_value;
  std::vector<TextSpan> text;           // both sides strings (not images): the word diff
  std::optional<DiffImage> old_image;   // an image replaced, added or removed
  std::optional<DiffImage> new_image;
  int image_distance = -1;              // perceptual distance of the two images (0..64), -1 unknown
};

struct RowChange {
  enum class Kind { kAdded, kRemoved, kModified, kMoved };
  Kind kind = Kind::kModified;
  uint64_t old_line = 0, new_line = 0;  // 1-based; 0 on the side where the row is absent
  ObjectId old_row, new_row;            // row object ids (zero when absent)
  std::string key;                      // the key's value (JSON text) when matched by key
  // kFull only. Added and removed rows: the row as JSON (images shown as
  // above), or as text when the line is not valid JSON.
  nlohmann::json row;
  std::string text;                       // the same as one line of text, in the file's key order
  bool old_json = true, new_json = true;  // the line parses as JSON on that side
  std::vector<ValueChange> changes;       // kModified: what differs
  std::vector<DiffImage> images;          // images of an added or removed row
};

struct TableStat {
  uint64_t old_rows = 0, new_rows = 0;
  uint64_t added = 0, removed = 0, modified = 0, moved = 0;
  uint64_t line_ends_changed = 0;         // same row, LF <-> CRLF (or the last line's newline)
  uint64_t images_added = 0, images_removed = 0;  // image references in changed rows
  uint64_t rows_without_key = 0;          // changed rows where `key` was absent (or not JSON)
  uint64_t chunks_skipped = 0, rows_read = 0;     // work done, for tests and benchmarks
};

struct LabelCount {
  std::string label;
  uint64_t old_count = 0, new_count = 0;
};

struct FileDiff {
  enum class Status { kAdded, kDeleted, kModified, kRenamed, kTypeChanged };
  Status status = Status::kModified;
  std::string path;       // new path (the old one for kDeleted)
  std::string old_path;   // kRenamed: where it was
  std::optional<FileEntry> old_file, new_file;
  std::optional<DiffImage> old_image, new_image;  // media files that are images (kFull)
  bool table = false;     // both sides are tables: `stat` and `rows` apply
  TableStat stat;
  // kFull, tables on both sides: in new-line order (removed rows at their
  // old place). An added or deleted table is counted in `stat`, not listed.
  std::vector<RowChange> rows;
};

struct DiffTotals {
  uint64_t files_added = 0, files_deleted = 0, files_modified = 0, files_renamed = 0;
  uint64_t rows_added = 0, rows_removed = 0, rows_modified = 0, rows_moved = 0;
  uint64_t images_added = 0, images_removed = 0;  // image files and image references in rows
  uint64_t old_bytes = 0, new_bytes = 0;          // sizes of the changed files on each side
};

struct TableLabels {
  std::string path;
  std::vector<LabelCount> labels;  // by decreasing |change|, then label
};

struct DiffReport {
  std::string from, to;              // commit ids; `to` empty for the working folder or the index
  bool staged = false;               // `to` is the index (DiffOptions::staged)
  std::vector<FileDiff> files;       // path order
  DiffTotals totals;
  std::vector<TableLabels> labels;   // with DiffOptions::labels: per table, then "" for all tables
  uint64_t images_inspected = 0;     // images decoded for their facts (not in the cache)

  bool empty() const { return files.empty(); }
  // The JSON form documented in docs/diff.md.
  nlohmann::json to_json() const;
};

const char* status_name(FileDiff::Status status);
const char* row_change_name(RowChange::Kind kind);

// Compares two versions of the repository's files; see the top of this file.
DiffReport diff(Repo& repo, const DiffOptions& options);

}  // namespace kura
