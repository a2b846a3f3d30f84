#include "export/example.hpp"

#include "check/row_check.hpp"
#include "kura/store.hpp"

namespace kura::exporter {

namespace {

using ojson = nlohmann::ordered_json;

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

struct Reader {
  const Store& store;
  const Row& row;
  const std::string& table;
  const FileLookup& lookup;
  std::map<std::string, size_t> cut;
  Example ex;
  std::string why;

  bool image(const ojson& part, int m, int c) {
    auto at = [m, c] { return "message " + std::to_string(m) + ", part " + std::to_string(c) + ": "; };
    std::string pointer = "/messages/" + std::to_string(m) + "/content/" + std::to_string(c) + "/image_url";
    const ojson* iu = part.contains("image_url") ? &part["image_url"] : nullptr;
    const ojson* url = nullptr;
    Image img;
    img.message = m;
    if (iu && iu->is_object() && iu->contains("url")) {
      url = &(*iu)["url"];
      pointer += "/url";
      if (iu->contains("detail") && (*iu)["detail"].is_string()) img.detail = (*iu)["detail"].get<std::string>();
    } else if (iu && iu->is_string()) {
      url = iu;
    }
    if (!url || !url->is_string() || url->get_ref<const std::string&>().empty()) {
      why = at() + "the image_url part has no url";
      return false;
    }
    img.pointer = pointer;
    const std::string& u = url->get_ref<const std::string&>();
    if (u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0) {
      img.remote_url = u;
    } else if (u.rfind("data:", 0) == 0) {
      const size_t semi = u.find(";base64,");
      if (u.rfind("data:image/", 0) != 0 || semi == std::string::npos) {
        why = at() + "the data URI is not data:image/<type>;base64,<data>";
        return false;
      }
      img.declared = u.substr(11, semi - 11);
      if (semi + 8 == u.size()) {
        auto it = cut.find(pointer);
        if (it == cut.end()) {
          why = at() + "the data URI has no image data";
          return false;
        }
        img.media = row.images[it->second].media;
        img.cut = true;
      } else {
        // Kept verbatim by the store (not canonical base64): decode it here.
        auto bytes = check::lenient_base64(std::string_view(u).substr(semi + 8));
        if (!bytes) {
          why = at() + "the inline image is not valid base64";
          return false;
        }
        img.media = sha256(*bytes);
        if (!store.has_object(img.media)) {
          why = at() + "the inline image's bytes are not in the store (commit it with the checks on)";
          return false;
        }
      }
    } else {
      auto path = check::resolve_path(dir_of(table), u);
      if (!path) {
        why = at() + "image path '" + u + "' leaves the data set";
        return false;
      }
      auto file = lookup(*path);
      if (!file || file->pointer.kind != FileKind::kMedia) {
        why = at() + "image path '" + u + "' names no file in the commit (looked for '" + *path + "')";
        return false;
      }
      img.file = *path;
      img.media = file->pointer.object;
    }
    if (!img.detail.empty()) ex.fields.insert("detail");
    ex.images.push_back(std::move(img));
    return true;
  }

  bool read() {
    const ojson& messages = ex.json["messages"];
    for (size_t mi = 0; mi < messages.size(); ++mi) {
      const int m = static_cast<int>(mi);
      const ojson& msg = messages[mi];
      if (!msg.is_object() || !msg.contains("role") || !msg["role"].is_string()) {
        why = "message " + std::to_string(m) + " has no \"role\"";
        return false;
      }
      Message out;
      out.role = msg["role"].get<std::string>();
      if (out.role == "developer") out.role = "system";
      out.tool_calls = out.role == "tool" || out.role == "function" || msg.contains("tool_calls") ||
                       msg.contains("function_call");
      for (const char* field : {"weight", "name", "refusal"})
        if (msg.contains(field)) ex.fields.insert(field);
      const ojson* content = msg.contains("content") ? &msg["content"] : nullptr;
      if (content && content->is_string()) {
        out.parts.push_back({false, content->get<std::string>(), 0});
      } else if (content && content->is_array()) {
        for (size_t ci = 0; ci < content->size(); ++ci) {
          const ojson& part = (*content)[ci];
          const std::string type = part.is_object() && part.contains("type") && part["type"].is_string()
                                       ? part["type"].get<std::string>() : "";
          if (type == "text" && part.contains("text") && part["text"].is_string()) {
            out.parts.push_back({false, part["text"].get<std::string>(), 0});
          } else if (type == "image_url") {
            if (!image(part, m, static_cast<int>(ci))) return false;
            out.parts.push_back({true, "", ex.images.size() - 1});
          } else {
            why = "message " + std::to_string(m) + ", part " + std::to_string(ci) + ": a content part of type \"" +
                  type + "\" (only text and image_url are read)";
            return false;
          }
        }
      } else if (!(content && content->is_null() && out.tool_calls)) {
        why = "message " + std::to_string(m) + " has no content";
        return false;
      }
      ex.messages.push_back(std::move(out));
    }
    for (auto it = ex.json.begin(); it != ex.json.end(); ++it)
      if (it.key() != "messages") ex.fields.insert(it.key());
    return true;
  }
};

}  // namespace

std::string Example::text(size_t m, const std::string& tag) const {
  std::string out;
  for (const auto& p : messages[m].parts) {
    if (p.image && tag.empty()) continue;
    if (!out.empty()) out += "\n";
    out += p.image ? tag : p.text;
  }
  return out;
}

std::optional<Example> read_example(const Store& store, const Row& row, const std::string& table,
                                    const FileLookup& lookup, std::string* why) {
  Reader r{store, row, table, lookup, {}, {}, {}};
  r.ex.row = &row;
  try {
    r.ex.json = ojson::parse(row.body);
  } catch (const nlohmann::json::exception& e) {
    *why = row.body.empty() ? "an empty line" : "not valid JSON";
    return std::nullopt;
  }
  if (!r.ex.json.is_object() || !r.ex.json.contains("messages") || !r.ex.json["messages"].is_array() ||
      r.ex.json["messages"].empty()) {
    *why = "no \"messages\" array";
    return std::nullopt;
  }
  if (!row.images.empty()) r.cut = check::cut_images(r.ex.json, row);  // none cut out: nothing to find
  if (!r.read()) {
    *why = r.why;
    return std::nullopt;
  }
  return std::move(r.ex);
}

}  // namespace kura::exporter
