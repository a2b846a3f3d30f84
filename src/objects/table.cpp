// Tables (JSONL files) as rows, chunks and a manifest.
//   chunk:    "KC" 0x01 | varint n | n x (32-byte row id, 1-byte line end)
//   manifest: "KM" 0x01 | varint rows | varint size | varint n | n x (32-byte chunk id, varint rows)
// A chunk ends after a row whose id has a zero second byte (1 in 256 rows on
// average), or after kMaxChunkRows rows: boundaries follow content, so an
// edit changes the chunk it falls in and leaves the others shared.
#include <algorithm>
#include <future>
#include <optional>
#include <thread>
#include <unordered_map>

#include "kura/error.hpp"
#include "kura/objects.hpp"
#include "kura/store.hpp"
#include "objects/codec.hpp"
#include "util/base64.hpp"
#include "util/parallel.hpp"

namespace kura {

namespace {

constexpr std::string_view kChunkMagic = "KC\x01";
constexpr std::string_view kManifestMagic = "KM\x01";
constexpr size_t kMaxChunkRows = 4096;

bool ends_chunk(const ObjectId& row) { return row.bytes[1] == 0; }

struct ChunkRef {
  ObjectId id;
  uint64_t rows;
};

ChunkRef store_chunk(Store& store, const std::vector<RowRef>& rows) {
  std::string out(kChunkMagic);
  put_varint(out, rows.size());
  for (const auto& r : rows) {
    put_id(out, r.row);
    out.push_back(static_cast<char>(r.end));
  }
  return {store.put_object(out), rows.size()};
}

ObjectId store_manifest(Store& store, const std::vector<ChunkRef>& chunks, uint64_t rows, uint64_t size) {
  std::string manifest(kManifestMagic);
  put_varint(manifest, rows);
  put_varint(manifest, size);
  put_varint(manifest, chunks.size());
  for (const auto& c : chunks) {
    put_id(manifest, c.id);
    put_varint(manifest, c.rows);
  }
  return store.put_object(manifest);
}

std::vector<ChunkRef> decode_manifest(std::string_view bytes, const ObjectId& id, uint64_t* rows,
                                      uint64_t* size) {
  Reader in(bytes, "manifest ", id);
  if (in.take(kManifestMagic.size()) != kManifestMagic) in.corrupt();
  *rows = in.varint();
  *size = in.varint();
  uint64_t n = in.varint();
  if (n > bytes.size()) in.corrupt();
  std::vector<ChunkRef> chunks;
  chunks.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    ObjectId chunk = in.id();
    chunks.push_back({chunk, in.varint()});
  }
  if (!in.done()) in.corrupt();
  return chunks;
}

std::vector<RowRef> decode_chunk(std::string_view bytes, const ObjectId& id) {
  Reader in(bytes, "row chunk ", id);
  if (in.take(kChunkMagic.size()) != kChunkMagic) in.corrupt();
  uint64_t n = in.varint();
  if (n > bytes.size()) in.corrupt();
  std::vector<RowRef> rows;
  rows.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    ObjectId row = in.id();
    uint8_t end = in.byte();
    if (end > 2) in.corrupt();
    rows.push_back({row, static_cast<LineEnd>(end)});
  }
  if (!in.done()) in.corrupt();
  return rows;
}

}  // namespace

ObjectId store_media(Store& store, std::string_view file) { return store.put_object(file); }

TableInfo store_table(Store& store, std::string_view file) {
  TableInfo info;
  info.file_sha = sha256(file);
  info.size = file.size();
  std::vector<ChunkRef> chunks;
  std::vector<RowRef> pending;
  std::vector<std::string> images;
  size_t pos = 0;
  while (pos < file.size()) {
    size_t nl = file.find('\n', pos);
    RowRef ref;
    std::string_view line;
    if (nl == std::string_view::npos) {
      line = file.substr(pos);
      ref.end = LineEnd::kNone;
      pos = file.size();
    } else {
      line = file.substr(pos, nl - pos);
      ref.end = LineEnd::kLf;
      if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
        ref.end = LineEnd::kCrLf;
      }
      pos = nl + 1;
    }
    images.clear();
    Row row = split_row(line, &images);
    for (size_t i = 0; i < images.size(); ++i) store.put_object(row.images[i].media, images[i]);
    info.images += row.images.size();
    // Count the data URIs left in place, for the add report.
    for (size_t p = 0; (p = row.body.find("base64,", p)) != std::string::npos; p += 7) {
      if (p + 7 < row.body.size() && row.body[p + 7] != '"') ++info.inline_kept;
    }
    ref.row = store.put_object(encode_row(row));
    pending.push_back(ref);
    ++info.rows;
    if (ends_chunk(ref.row) || pending.size() >= kMaxChunkRows) {
      chunks.push_back(store_chunk(store, pending));
      pending.clear();
    }
  }
  if (!pending.empty()) chunks.push_back(store_chunk(store, pending));
  info.manifest = store_manifest(store, chunks, info.rows, info.size);
  return info;
}

namespace {

// Reads a table a stretch at a time: a stretch's rows, then its images on all
// cores (each fetched once however many of its rows use it, and base64-encoded
// where it was fetched), then the stretch rendered into one string. A stretch
// holds about kStretchBytes of images, so memory stays flat in the table's size.
class TableReader {
 public:
  // The rows of a stored manifest; `check` says how objects are verified.
  TableReader(const Store& store, const ObjectId& manifest, ObjectCheck check)
      : store_(store), manifest_(manifest), check_(check), chunks_(read_manifest_chunks(store, manifest)) {
    for (const auto& c : chunks_) rows_ += c.rows;
  }
  // Rows given in order (not yet in a manifest).
  TableReader(const Store& store, const std::vector<RowRef>& rows, ObjectCheck check, unsigned threads)
      : store_(store), check_(check), given_(&rows), rows_(rows.size()), threads_(threads) {}

  // The next stretch of the file's bytes; nullopt after the last one.
  std::optional<std::string> next() {
    if (!fill()) {
      if (seen_ != rows_)
        fail(ErrorCode::kCorrupt, "manifest " + manifest_.hex() + " row count does not match its chunks");
      return std::nullopt;
    }
    // Rows from the buffer until the stretch has image_budget_ distinct images.
    std::unordered_map<ObjectId, size_t, ObjectIdHash> slot;
    std::vector<ObjectId> ids;
    size_t end = pos_;
    while (end < rows_buf_.size() && (ids.size() < image_budget_ || end == pos_)) {
      for (const RowImage& image : rows_buf_[end].first.images)
        if (slot.emplace(image.media, ids.size()).second) ids.push_back(image.media);
      ++end;
    }
    std::vector<std::string> encoded(ids.size());
    if (!ids.empty()) {
      const unsigned threads =
          std::min<size_t>(threads_ ? threads_ : std::max(1u, std::thread::hardware_concurrency()), ids.size());
      const size_t per = (ids.size() + threads - 1) / threads;
      parallel_for(threads, threads, [&](size_t t) {
        const size_t from = t * per, to = std::min(ids.size(), from + per);
        if (from >= to) return;
        std::vector<ObjectId> part(ids.begin() + from, ids.begin() + to);
        auto bytes = store_.get_objects(part, check_);
        for (size_t i = 0; i < part.size(); ++i) {
          if (!bytes[i]) fail(ErrorCode::kNotFound, "object " + part[i].hex() + " not found in the store; run 'kura fsck'");
          base64_append(*bytes[i], encoded[from + i]);
          bytes[i].reset();
        }
      });
    }
    static constexpr std::string_view kEnds[] = {"\n", "\r\n", ""};
    size_t total = 0, image_bytes = 0;
    for (const auto& e : encoded) image_bytes += e.size();
    for (size_t r = pos_; r < end; ++r) {
      const Row& row = rows_buf_[r].first;
      total += row.body.size() + 2;
      for (const RowImage& image : row.images) total += encoded[slot[image.media]].size();
    }
    std::string out;
    out.reserve(total);
    for (size_t r = pos_; r < end; ++r) {
      const Row& row = rows_buf_[r].first;
      size_t copied = 0;
      for (const RowImage& image : row.images) {
        out.append(row.body, copied, image.offset - copied);
        out.append(encoded[slot[image.media]]);
        copied = image.offset;
      }
      out.append(row.body, copied);
      out.append(kEnds[static_cast<size_t>(rows_buf_[r].second)]);
    }
    pos_ = end;
    if (!ids.empty()) {
      const size_t mean = std::max<size_t>(1, image_bytes / ids.size());
      image_budget_ = std::clamp<size_t>(kStretchBytes / mean, 16, 4096);
    }
    return out;
  }

 private:
  static constexpr size_t kStretchBytes = 32u << 20;

  // Makes sure the buffer holds an unread row: reads the next chunk's rows
  // (one batched look-up) when it is used up. False at the end of the table.
  bool fill() {
    if (pos_ < rows_buf_.size()) return true;
    rows_buf_.clear();
    pos_ = 0;
    while (rows_buf_.empty() && (given_ ? seen_ < given_->size() : next_chunk_ < chunks_.size())) {
      std::vector<RowRef> refs;
      if (given_)
        refs.assign(given_->begin() + seen_, given_->begin() + std::min<size_t>(given_->size(), seen_ + kMaxChunkRows));
      else
        refs = read_chunk(store_, chunks_[next_chunk_++]);
      std::vector<ObjectId> ids;
      ids.reserve(refs.size());
      for (const auto& r : refs) ids.push_back(r.row);
      auto bytes = store_.get_objects(ids, check_);
      for (size_t i = 0; i < refs.size(); ++i) {
        if (!bytes[i]) fail(ErrorCode::kNotFound, "row object " + ids[i].hex() + " not found in the store; run 'kura fsck'");
        rows_buf_.emplace_back(decode_row(*bytes[i], ids[i]), refs[i].end);
      }
      seen_ += refs.size();
    }
    return !rows_buf_.empty();
  }

  const Store& store_;
  ObjectId manifest_;
  ObjectCheck check_;
  std::vector<ManifestChunk> chunks_;
  const std::vector<RowRef>* given_ = nullptr;
  uint64_t rows_ = 0, seen_ = 0;
  unsigned threads_ = 0;  // 0: one per core
  size_t next_chunk_ = 0;
  std::vector<std::pair<Row, LineEnd>> rows_buf_;
  size_t pos_ = 0;
  size_t image_budget_ = 256;
};

// Hands the reader's pieces to `sink` in order, reading the next piece while
// the sink takes this one.
void pump(TableReader& reader, const std::function<void(std::string_view)>& sink) {
  auto ahead = std::async(std::launch::async, [&] { return reader.next(); });
  for (;;) {
    std::optional<std::string> piece = ahead.get();
    if (!piece) break;
    ahead = std::async(std::launch::async, [&] { return reader.next(); });
    sink(*piece);
  }
}

}  // namespace

TableInfo store_table_rows(Store& store, const std::vector<RowRef>& rows, unsigned threads,
                           const std::function<void(std::string_view)>& also) {
  TableInfo info;
  info.rows = rows.size();
  std::vector<ChunkRef> chunks;
  std::vector<RowRef> pending;
  for (const RowRef& ref : rows) {
    pending.push_back(ref);
    if (ends_chunk(ref.row) || pending.size() >= kMaxChunkRows) {
      chunks.push_back(store_chunk(store, pending));
      pending.clear();
    }
  }
  if (!pending.empty()) chunks.push_back(store_chunk(store, pending));
  // The file's bytes, only to hash them, read as read_table reads them; each
  // row and image is checked against its id, since this hash is the one the
  // new pointer will vouch for.
  Sha256 hash;
  TableReader reader(store, rows, ObjectCheck::kSha256, threads);
  pump(reader, [&](std::string_view piece) {
    hash.update(piece);
    info.size += piece.size();
    if (also) also(piece);
  });
  info.file_sha = hash.finish();
  info.manifest = store_manifest(store, chunks, info.rows, info.size);
  return info;
}

std::vector<ObjectId> manifest_chunks(const Store& store, const ObjectId& manifest) {
  uint64_t rows, size;
  std::vector<ObjectId> out;
  for (const auto& c : decode_manifest(store.read_object(manifest), manifest, &rows, &size))
    out.push_back(c.id);
  return out;
}

std::vector<RowRef> read_manifest(const Store& store, const ObjectId& manifest) {
  uint64_t rows, size;
  auto chunks = decode_manifest(store.read_object(manifest), manifest, &rows, &size);
  std::vector<RowRef> out;
  out.reserve(rows);
  for (const auto& c : chunks) {
    auto part = decode_chunk(store.read_object(c.id), c.id);
    if (part.size() != c.rows)
      fail(ErrorCode::kCorrupt, "row chunk " + c.id.hex() + " does not hold the rows its manifest says");
    out.insert(out.end(), part.begin(), part.end());
  }
  if (out.size() != rows)
    fail(ErrorCode::kCorrupt, "manifest " + manifest.hex() + " row count does not match its chunks");
  return out;
}

std::vector<ManifestChunk> read_manifest_chunks(const Store& store, const ObjectId& manifest) {
  uint64_t rows, size;
  std::vector<ManifestChunk> out;
  for (const auto& c : decode_manifest(store.read_object(manifest), manifest, &rows, &size))
    out.push_back({c.id, c.rows});
  return out;
}

std::vector<RowRef> read_chunk(const Store& store, const ManifestChunk& chunk) {
  auto rows = decode_chunk(store.read_object(chunk.id), chunk.id);
  if (rows.size() != chunk.rows)
    fail(ErrorCode::kCorrupt, "row chunk " + chunk.id.hex() + " does not hold the rows its manifest says");
  return rows;
}

std::vector<std::string> read_objects(const Store& store, const std::vector<ObjectId>& ids, ObjectCheck check,
                                      unsigned threads) {
  std::vector<std::string> out(ids.size());
  if (ids.empty()) return out;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, (ids.size() + 63) / 64));  // 64 ids a batch at least
  const size_t per = (ids.size() + threads - 1) / threads;
  parallel_for(threads, threads, [&](size_t t) {
    const size_t from = t * per, to = std::min(ids.size(), from + per);
    if (from >= to) return;
    auto bytes = store.get_objects(std::vector<ObjectId>(ids.begin() + from, ids.begin() + to), check);
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (!bytes[i]) fail(ErrorCode::kNotFound, "object " + ids[from + i].hex() + " not found in the store; run 'kura fsck'");
      out[from + i] = std::move(*bytes[i]);
    }
  });
  return out;
}

void read_table(const Store& store, const ObjectId& manifest,
                const std::function<void(std::string_view)>& sink) {
  // The whole file's SHA-256 (Repo::read_file) checks every byte read here.
  TableReader reader(store, manifest, ObjectCheck::kByCaller);
  pump(reader, sink);
}

}  // namespace kura
