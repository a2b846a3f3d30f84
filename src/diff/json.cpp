// DiffReport's JSON form (docs/diff.md).
#include "kura/diff.hpp"

namespace kura {

namespace {

using nlohmann::json;

json image_json(const DiffImage& im) {
  json j = {{"object", im.object.hex()}};
  if (!im.known) return j;
  j["bytes"] = im.bytes;
  j["format"] = im.format;
  j["width"] = im.width;
  j["height"] = im.height;
  j["mode"] = im.mode;
  j["decodes"] = im.decodes;
  return j;
}

json file_json(const std::optional<FileEntry>& f) {
  if (!f) return nullptr;
  json j = {{"kind", kind_name(f->pointer.kind)}, {"size", f->pointer.size}, {"sha256", f->pointer.file_sha.hex()}};
  if (f->pointer.kind == FileKind::kTable) j["rows"] = f->pointer.rows;
  return j;
}

const char* span_op(TextSpan::Op op) {
  switch (op) {
    case TextSpan::Op::kSame: return "=";
    case TextSpan::Op::kRemoved: return "-";
    case TextSpan::Op::kAdded: return "+";
  }
  return "?";
}

json change_json(const ValueChange& c) {
  static const char* kinds[] = {"added", "removed", "changed"};
  json j = {{"kind", kinds[static_cast<int>(c.kind)]}, {"pointer", c.pointer}, {"old", c.old_value}, {"new", c.new_value}};
  if (c.message >= 0) j["message"] = c.message;
  if (c.part >= 0) j["part"] = c.part;
  if (!c.text.empty()) {
    j["text"] = json::array();
    for (const auto& s : c.text) j["text"].push_back({{"op", span_op(s.op)}, {"text", s.text}});
  }
  if (c.old_image) j["old_image"] = image_json(*c.old_image);
  if (c.new_image) j["new_image"] = image_json(*c.new_image);
  if (c.image_distance >= 0) j["image_distance"] = c.image_distance;
  return j;
}

json row_json(const RowChange& c) {
  json j = {{"kind", row_change_name(c.kind)},
            {"old_line", c.old_line ? json(c.old_line) : json(nullptr)},
            {"new_line", c.new_line ? json(c.new_line) : json(nullptr)},
            {"old_row", c.old_row.is_zero() ? json(nullptr) : json(c.old_row.hex())},
            {"new_row", c.new_row.is_zero() ? json(nullptr) : json(c.new_row.hex())}};
  if (!c.key.empty()) j["key"] = json::parse(c.key);
  if (c.kind == RowChange::Kind::kMoved) return j;
  if (c.kind == RowChange::Kind::kModified) {
    j["old_json"] = c.old_json;
    j["new_json"] = c.new_json;
    j["changes"] = json::array();
    for (const auto& v : c.changes) j["changes"].push_back(change_json(v));
  } else {
    j["json"] = c.kind == RowChange::Kind::kAdded ? c.new_json : c.old_json;
    j["row"] = c.row;
    j["images"] = json::array();
    for (const auto& im : c.images) j["images"].push_back(image_json(im));
  }
  return j;
}

json stat_json(const TableStat& s) {
  return {{"old_rows", s.old_rows},
          {"new_rows", s.new_rows},
          {"added", s.added},
          {"removed", s.removed},
          {"modified", s.modified},
          {"moved", s.moved},
          {"line_ends_changed", s.line_ends_changed},
          {"images_added", s.images_added},
          {"images_removed", s.images_removed},
          {"rows_without_key", s.rows_without_key},
          {"chunks_skipped", s.chunks_skipped},
          {"rows_read", s.rows_read}};
}

}  // namespace

nlohmann::json DiffReport::to_json() const {
  json j = {{"from", from.empty() ? json(nullptr) : json(from)},
            {"to", to.empty() ? json(nullptr) : json(to)},
            {"staged", staged}};
  const DiffTotals& t = totals;
  j["totals"] = {{"files_added", t.files_added},       {"files_deleted", t.files_deleted},
                 {"files_modified", t.files_modified}, {"files_renamed", t.files_renamed},
                 {"rows_added", t.rows_added},         {"rows_removed", t.rows_removed},
                 {"rows_modified", t.rows_modified},   {"rows_moved", t.rows_moved},
                 {"images_added", t.images_added},     {"images_removed", t.images_removed},
                 {"old_bytes", t.old_bytes},           {"new_bytes", t.new_bytes}};
  j["files"] = json::array();
  for (const auto& f : files) {
    json o = {{"path", f.path}, {"status", status_name(f.status)}, {"old", file_json(f.old_file)}, {"new", file_json(f.new_file)}};
    if (!f.old_path.empty()) o["old_path"] = f.old_path;
    if (f.old_image) o["old_image"] = image_json(*f.old_image);
    if (f.new_image) o["new_image"] = image_json(*f.new_image);
    if (f.table) {
      o["stat"] = stat_json(f.stat);
      o["rows"] = json::array();
      for (const auto& c : f.rows) o["rows"].push_back(row_json(c));
    }
    j["files"].push_back(std::move(o));
  }
  if (!labels.empty()) {
    j["labels"] = json::array();
    for (const auto& t : labels) {
      json a = json::array();
      for (const auto& l : t.labels)
        a.push_back({{"label", l.label}, {"old", l.old_count}, {"new", l.new_count},
                     {"change", int64_t(l.new_count) - int64_t(l.old_count)}});
      j["labels"].push_back({{"path", t.path.empty() ? json(nullptr) : json(t.path)}, {"labels", a}});
    }
  }
  j["images_inspected"] = images_inspected;
  return j;
}

}  // namespace kura
