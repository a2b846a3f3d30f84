// Row objects: a JSONL line with its inline images cut out.
//   "KR" 0x01 | varint n | n x (varint offset delta, 32-byte media id) | body
#include "kura/error.hpp"
#include "kura/objects.hpp"
#include "kura/store.hpp"
#include "objects/codec.hpp"
#include "util/base64.hpp"

namespace kura {

namespace {

constexpr std::string_view kRowMagic = "KR\x01";
constexpr std::string_view kDataImage = "data:image/";
constexpr std::string_view kBase64Marker = ";base64,";

bool is_b64(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '=';
}

bool is_subtype(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '+' || c == '-';
}

}  // namespace

Row split_row(std::string_view line, std::vector<std::string>* decoded_images) {
  Row row;
  size_t copied = 0, pos = 0;
  while ((pos = line.find(kDataImage, pos)) != std::string_view::npos) {
    size_t q = pos + kDataImage.size();
    while (q < line.size() && is_subtype(line[q])) ++q;
    if (line.substr(q, kBase64Marker.size()) != kBase64Marker) {
      pos = q;
      continue;
    }
    const size_t start = q + kBase64Marker.size();
    size_t end = start;
    while (end < line.size() && is_b64(line[end])) ++end;
    pos = end;
    // Only a payload that ends its JSON string and is canonical base64 is cut
    // out; anything else (escapes, line breaks, bad padding) stays verbatim.
    if (end == start || end >= line.size() || line[end] != '"') continue;
    auto decoded = base64_decode_canonical(line.substr(start, end - start));
    if (!decoded) continue;
    row.body.append(line.substr(copied, start - copied));
    row.images.push_back({row.body.size(), sha256(*decoded)});
    if (decoded_images) decoded_images->push_back(std::move(*decoded));
    copied = end;
  }
  row.body.append(line.substr(copied));
  return row;
}

std::string encode_row(const Row& row) {
  std::string out;
  out.reserve(row.body.size() + 4 + row.images.size() * 34);
  out.append(kRowMagic);
  put_varint(out, row.images.size());
  uint64_t last = 0;
  for (const auto& image : row.images) {
    put_varint(out, image.offset - last);
    put_id(out, image.media);
    last = image.offset;
  }
  out.append(row.body);
  return out;
}

Row decode_row(std::string_view bytes, const ObjectId& id) {
  Reader in(bytes, "row object ", id);
  if (in.take(kRowMagic.size()) != kRowMagic) in.corrupt();
  Row row;
  uint64_t n = in.varint(), offset = 0;
  if (n > bytes.size()) in.corrupt();
  row.images.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    offset += in.varint();
    row.images.push_back({offset, in.id()});
  }
  row.body = std::string(in.rest());
  if (!row.images.empty() && row.images.back().offset > row.body.size()) in.corrupt();
  return row;
}

std::string render_row(const Store& store, const Row& row) {
  if (row.images.empty()) return row.body;
  std::string out;
  size_t copied = 0;
  for (const auto& image : row.images) {
    out.append(row.body, copied, image.offset - copied);
    out.append(base64_encode(store.read_object(image.media)));
    copied = image.offset;
  }
  out.append(row.body, copied);
  return out;
}

}  // namespace kura
