// Tables (JSONL files) as rows, chunks and a manifest.
//   chunk:    "KC" 0x01 | varint n | n x (32-byte row id, 1-byte line end)
//   manifest: "KM" 0x01 | varint rows | varint size | varint n | n x (32-byte chunk id, varint rows)
// A chunk ends after a row whose id has a zero second byte (1 in 256 rows on
// average), or after kMaxChunkRows rows: boundaries follow content, so an
// edit changes the chunk it falls in and leaves the others shared.
#include "kura/error.hpp"
#include "kura/objects.hpp"
#include "kura/store.hpp"
#include "objects/codec.hpp"
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

TableInfo store_table_rows(Store& store, const std::vector<RowRef>& rows, unsigned threads) {
  static constexpr std::string_view kEnds[] = {"\n", "\r\n", ""};
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
  // The file's bytes, only to hash them: rendered in parallel a window of
  // batches at a time, hashed in order.
  constexpr size_t kBatch = 1024;
  const size_t batches = (rows.size() + kBatch - 1) / kBatch;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const size_t window = size_t(threads) * 4;
  Sha256 hash;
  std::vector<std::string> text(window);
  for (size_t first = 0; first < batches; first += window) {
    const size_t n = std::min(window, batches - first);
    parallel_for(n, threads, [&](size_t k) {
      std::string& out = text[k];
      out.clear();
      const size_t lo = (first + k) * kBatch, hi = std::min(rows.size(), lo + kBatch);
      for (size_t i = lo; i < hi; ++i) {
        out += render_row(store, decode_row(store.read_object(rows[i].row), rows[i].row));
        out += kEnds[static_cast<size_t>(rows[i].end)];
      }
    });
    for (size_t k = 0; k < n; ++k) {
      hash.update(text[k]);
      info.size += text[k].size();
    }
  }
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

void read_table(const Store& store, const ObjectId& manifest,
                const std::function<void(std::string_view)>& sink) {
  static constexpr std::string_view kEnds[] = {"\n", "\r\n", ""};
  for (const auto& ref : read_manifest(store, manifest)) {
    Row row = decode_row(store.read_object(ref.row), ref.row);
    sink(render_row(store, row));
    sink(kEnds[static_cast<size_t>(ref.end)]);
  }
}

}  // namespace kura
