#include <algorithm>
#include <cctype>
#include <charconv>

#include "kura/error.hpp"
#include "kura/objects.hpp"
#include "objects/paths.hpp"

namespace kura {

const char* kind_name(FileKind kind) {
  switch (kind) {
    case FileKind::kMedia: return "media";
    case FileKind::kTable: return "table";
    case FileKind::kLink: return "link";
  }
  return "unknown";
}

std::string Pointer::encode() const {
  std::string out = "kura-pointer 1\nkind ";
  out += kind_name(kind);
  out += "\nobject " + object.hex() + "\nsize " + std::to_string(size) + "\n";
  if (kind == FileKind::kTable) {
    out += "rows " + std::to_string(rows) + "\n";
    out += "sha256 " + file_sha.hex() + "\n";
  }
  return out;
}

Pointer Pointer::decode(std::string_view text, const std::string& where) {
  auto bad = [&](const std::string& why) -> Pointer {
    fail(ErrorCode::kCorrupt, where + ": not a kura pointer (" + why + ")");
  };
  Pointer p;
  bool have_kind = false, have_object = false, have_size = false, have_sha = false;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return bad("unterminated line");
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (line_no++ == 0) {
      if (line != "kura-pointer 1") return bad("unknown header");
      continue;
    }
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return bad("line without value");
    std::string_view key = line.substr(0, sp), value = line.substr(sp + 1);
    auto number = [&](uint64_t& out) {
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
      if (ec != std::errc() || ptr != value.data() + value.size()) bad("bad number");
    };
    if (key == "kind") {
      if (value == "media") p.kind = FileKind::kMedia;
      else if (value == "table") p.kind = FileKind::kTable;
      else return bad("unknown kind '" + std::string(value) + "'");
      have_kind = true;
    } else if (key == "object") {
      auto id = ObjectId::from_hex(value);
      if (!id) return bad("bad object id");
      p.object = *id;
      have_object = true;
    } else if (key == "sha256") {
      auto id = ObjectId::from_hex(value);
      if (!id) return bad("bad sha256");
      p.file_sha = *id;
      have_sha = true;
    } else if (key == "size") {
      number(p.size);
      have_size = true;
    } else if (key == "rows") {
      number(p.rows);
    }  // unknown keys: written by a newer kura; ignored
  }
  if (!have_kind || !have_object || !have_size) return bad("missing field");
  if (p.kind == FileKind::kMedia) p.file_sha = p.object;
  else if (!have_sha) return bad("table without sha256");
  return p;
}

bool is_table_path(const std::string& path) {
  if (path.size() < 6) return false;
  std::string ext = path.substr(path.size() - 6);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jsonl";
}

}  // namespace kura
