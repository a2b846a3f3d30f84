// How files become objects, and back.
//
// A media file (an image, any binary) is one object: its bytes, named by their
// SHA-256.
//
// A table (a .jsonl file) is an ordered list of rows. Each line is one row
// object; the line terminator (LF, CRLF or none, for a last line without a
// newline) is kept in the manifest, so the same example with another line end
// is the same row. Inside a row, every `data:image/<type>;base64,<payload>`
// whose payload is canonical base64 is decoded, stored as a media object and
// cut out of the row, which keeps a reference (offset, object id) instead; an
// image used by a thousand rows is stored once. A payload that is not
// canonical (line breaks, missing padding, escaped slashes) stays in the row
// as it was, so reading a table back always yields exactly the bytes added.
// Row bodies stay valid JSON when the line was: the cut leaves
// `"data:image/png;base64,"` in place.
//
// The manifest lists rows in chunks whose boundaries depend on row ids (a
// content-defined split), so two versions of a million-row file that differ
// in a few rows share almost all chunks. Formats: docs/architecture.md.
//
// A pointer is the small text blob that a commit's tree holds for each file:
// its kind, object id, size and, for tables, the row count and the SHA-256 of
// the whole file, which checkout verifies before it writes a byte.
//
// All functions are thread-safe given a thread-safe Store; they throw
// Error(kCorrupt) when stored bytes cannot be decoded.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "kura/object_id.hpp"

namespace kura {

class Store;
enum class ObjectCheck;

enum class FileKind : uint8_t { kMedia = 1, kTable = 2, kLink = 3 };
const char* kind_name(FileKind kind);

struct Pointer {
  FileKind kind = FileKind::kMedia;
  ObjectId object;     // media: the file's bytes; table: the manifest; link: the target
  uint64_t size = 0;   // bytes of the file as the user sees it
  uint64_t rows = 0;   // tables only
  ObjectId file_sha;   // SHA-256 of the whole file (equals `object` for media)

  std::string encode() const;
  // Throws Error(kCorrupt) naming `where` when `text` is not a pointer.
  static Pointer decode(std::string_view text, const std::string& where);
};

// A file as the index or a commit knows it.
struct FileEntry {
  std::string path;        // relative to the working folder, '/'-separated
  uint32_t mode = 0100644; // git mode: 0100644, 0100755 or 0120000 (link)
  Pointer pointer;
  std::string pointer_oid; // hex id of the pointer blob in git
};

enum class LineEnd : uint8_t { kLf = 0, kCrLf = 1, kNone = 2 };

// One image cut out of a row: where its payload stood in the row body, and
// the media object holding the decoded bytes.
struct RowImage {
  uint64_t offset = 0;
  ObjectId media;
};

struct Row {
  std::string body;             // the line without terminator and without payloads
  std::vector<RowImage> images; // in offset order
};

// Splits a line into body and images (no store access).
Row split_row(std::string_view line, std::vector<std::string>* decoded_images);
std::string encode_row(const Row& row);
Row decode_row(std::string_view bytes, const ObjectId& id);

struct RowRef {
  ObjectId row;
  LineEnd end = LineEnd::kLf;
};

// What storing a table produced, for counters and the pointer.
struct TableInfo {
  ObjectId manifest;
  ObjectId file_sha;
  uint64_t size = 0;
  uint64_t rows = 0;
  uint64_t images = 0;          // payloads cut out (before dedup)
  uint64_t inline_kept = 0;     // data URIs left in place (not canonical base64)
};

// Stores every row, image, chunk and the manifest of `file`; returns the info.
TableInfo store_table(Store& store, std::string_view file);
// Stores the manifest of a table made of rows already in the store (a
// merge's result): the manifest store_table gives for the same bytes, whose
// SHA-256 and size are computed by reading the rows as read_table does, each
// row and image checked against its id, images on `threads` workers (0: one
// per core); no row or image is stored again. `also`, when given, gets the
// file's bytes as they are hashed, in order (a merge writes its working file
// with them instead of rendering the rows a second time); they are the
// bytes of the returned file_sha only once the call returns without error.
TableInfo store_table_rows(Store& store, const std::vector<RowRef>& rows, unsigned threads = 0,
                           const std::function<void(std::string_view)>& also = {});
// Stores the bytes of a media file; returns its id.
ObjectId store_media(Store& store, std::string_view file);

// The rows of a manifest, in order.
std::vector<RowRef> read_manifest(const Store& store, const ObjectId& manifest);
// The object ids a manifest refers to directly (its chunks).
std::vector<ObjectId> manifest_chunks(const Store& store, const ObjectId& manifest);
// One chunk of a row manifest: its id and the number of rows it holds.
struct ManifestChunk {
  ObjectId id;
  uint64_t rows = 0;
};
// The chunks of a manifest in order, without reading them: two versions of a
// table share most chunks, and a reader comparing them (kura diff) skips the
// shared ones whole.
std::vector<ManifestChunk> read_manifest_chunks(const Store& store, const ObjectId& manifest);
// The rows of one chunk; Error(kCorrupt) when it holds other than chunk.rows rows.
std::vector<RowRef> read_chunk(const Store& store, const ManifestChunk& chunk);
// Re-inlines a row's images and returns the line without its terminator.
std::string render_row(const Store& store, const Row& row);
// The bytes of every object in `ids`, in order, read in batches on `threads`
// threads (0: one per core) and checked as `check` says; Error(kNotFound)
// naming the first that is absent.
std::vector<std::string> read_objects(const Store& store, const std::vector<ObjectId>& ids, ObjectCheck check,
                                      unsigned threads = 0);
// Streams the table's exact bytes to `sink`, in pieces: the next piece is
// read (rows and images in batches, on all cores) while the sink takes this
// one. No object is re-hashed: the caller checks the whole file's SHA-256
// (Repo::read_file does), which covers every byte.
void read_table(const Store& store, const ObjectId& manifest,
                const std::function<void(std::string_view)>& sink);

}  // namespace kura
