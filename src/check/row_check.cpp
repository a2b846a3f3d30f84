#include "check/row_check.hpp"

#include <openssl/evp.h>

#include <functional>
#include <map>
#include <optional>

#include "check/rules.hpp"
#include "kura/store.hpp"

namespace kura::check {

namespace {

using ojson = nlohmann::ordered_json;
constexpr int kMaxDepth = 64;

// Nesting depth of a JSON text, counted outside strings; a cheap guard
// before the parser sees a hostile line.
int nesting(std::string_view text) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}


struct Walker {
  Store& store;
  const Policy& policy;
  const Row& row;
  RowResult result;

  void add(const std::string& rule, int m, int c, const std::string& message, const std::string& object = "") {
    Finding f;
    f.message_index = m;
    f.content_index = c;
    f.object = object;
    f.message = message;
    if (make_finding(policy, rule, f)) result.findings.push_back(std::move(f));
  }

  void image_url(const ojson& part, int m, int c, const std::string& role) {
    const std::string pointer = "/messages/" + std::to_string(m) + "/content/" + std::to_string(c) + "/image_url" +
                                (part.contains("image_url") && part["image_url"].is_object() ? "/url" : "");
    const ojson* iu = part.contains("image_url") ? &part["image_url"] : nullptr;
    if (!iu || !(iu->is_object() || iu->is_string())) {
      add("jsonl.bad_content_part", m, c, "image_url part without an \"image_url\" object");
      return;
    }
    const ojson* url = iu->is_object() && iu->contains("url") ? &(*iu)["url"] : iu->is_string() ? iu : nullptr;
    if (!url || !url->is_string() || url->get_ref<const std::string&>().empty()) {
      add("jsonl.bad_content_part", m, c, "image_url has no \"url\"");
      return;
    }
    ImageUse use;
    use.message_index = m;
    use.content_index = c;
    if (iu->is_object() && iu->contains("detail")) {
      const auto& d = (*iu)["detail"];
      use.detail = d.is_string() ? d.get<std::string>() : "";
      if (use.detail != "low" && use.detail != "high" && use.detail != "auto")
        add("jsonl.bad_content_part", m, c, "\"detail\" is " + d.dump() + "; use \"low\", \"high\" or \"auto\"");
    }
    if (role != "user")
      add("jsonl.image_outside_user_message", m, c, "an image in a \"" + role + "\" message");
    const std::string& u = url->get_ref<const std::string&>();
    if (u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0) {
      use.kind = ImageUse::kRemote;
      use.ref = u;
    } else if (u.rfind("data:", 0) == 0) {
      size_t semi = u.find(";base64,");
      use.declared = u.rfind("data:image/", 0) == 0 && semi != std::string::npos ? u.substr(11, semi - 11) : "";
      if (semi == std::string::npos || u.rfind("data:image/", 0) != 0) {
        add("image.bad_base64", m, c, "data URI is not data:image/<type>;base64,<data>");
        return;
      }
      std::string_view payload = std::string_view(u).substr(semi + 8);
      if (payload.empty()) {
        // Cut out by the store (look it up) or really empty.
        auto cut = cut_at.find(pointer);
        if (cut != cut_at.end()) {
          use.media = row.images[cut->second].media.hex();
        } else {
          add("image.bad_base64", m, c, "the data URI has no image data");
          return;
        }
      } else {
        auto bytes = lenient_base64(payload);
        if (!bytes) {
          add("image.bad_base64", m, c, "the inline image is not valid base64 (" + std::to_string(payload.size()) +
                                            " characters; truncated or damaged?)");
          return;
        }
        use.media = store.put_object(*bytes).hex();
      }
    } else {
      use.kind = ImageUse::kPath;
      use.ref = u;
    }
    result.images.push_back(std::move(use));
  }

  std::map<std::string, size_t> cut_at;  // JSON pointer of a string -> index of the image cut from it

  void walk(const ojson& example) {
    const ojson& messages = example["messages"];
    bool has_assistant = false;
    int n_images = 0;
    uint64_t chars = 0;
    for (size_t mi = 0; mi < messages.size(); ++mi) {
      const int m = static_cast<int>(mi);
      const ojson& msg = messages[mi];
      if (!msg.is_object()) {
        add("jsonl.message_missing_key", m, -1, "message " + std::to_string(m) + " is not an object");
        continue;
      }
      std::string role = msg.contains("role") && msg["role"].is_string() ? msg["role"].get<std::string>() : "";
      if (!msg.contains("role")) add("jsonl.message_missing_key", m, -1, "message " + std::to_string(m) + " has no \"role\"");
      else if (role != "system" && role != "user" && role != "assistant" && role != "tool" && role != "function")
        add("jsonl.unrecognized_role", m, -1, "role " + msg["role"].dump() + " is not one of system, user, assistant, tool, function");
      if (role == "assistant") has_assistant = true;
      for (auto it = msg.begin(); it != msg.end(); ++it) {
        const std::string& k = it.key();
        if (k != "role" && k != "content" && k != "name" && k != "weight" && k != "function_call" &&
            k != "tool_calls" && k != "tool_call_id" && k != "refusal")
          add("jsonl.unrecognized_key", m, -1, "message " + std::to_string(m) + " has an unknown key \"" + k + "\"");
      }
      if (msg.contains("weight")) {
        const auto& w = msg["weight"];
        bool ok = w.is_number_integer() && (w.get<int64_t>() == 0 || w.get<int64_t>() == 1);
        if (!ok || role != "assistant")
          add("jsonl.invalid_weight", m, -1,
              !ok ? "\"weight\" is " + w.dump() + "; only 0 or 1 are allowed" : "\"weight\" on a \"" + role + "\" message");
      }
      const bool calls = msg.contains("tool_calls") || msg.contains("function_call");
      if (!msg.contains("content")) {
        if (!calls) add("jsonl.message_missing_key", m, -1, "message " + std::to_string(m) + " has no \"content\"");
        continue;
      }
      const ojson& content = msg["content"];
      if (content.is_string()) {
        if (content.get_ref<const std::string&>().empty() && !calls)
          add("jsonl.missing_content", m, -1, "message " + std::to_string(m) + " has empty content");
        chars += content.get_ref<const std::string&>().size();
      } else if (content.is_null()) {
        if (!calls) add("jsonl.missing_content", m, -1, "message " + std::to_string(m) + " has null content");
      } else if (content.is_array()) {
        if (content.empty()) add("jsonl.missing_content", m, -1, "message " + std::to_string(m) + " has no content parts");
        for (size_t ci = 0; ci < content.size(); ++ci) {
          const int c = static_cast<int>(ci);
          const ojson& part = content[ci];
          std::string type = part.is_object() && part.contains("type") && part["type"].is_string()
                                 ? part["type"].get<std::string>() : "";
          if (type == "text") {
            if (!part.contains("text") || !part["text"].is_string())
              add("jsonl.bad_content_part", m, c, "text part without a \"text\" string");
            else chars += part["text"].get_ref<const std::string&>().size();
          } else if (type == "image_url") {
            ++n_images;
            image_url(part, m, c, role);
          } else {
            add("jsonl.bad_content_part", m, c,
                type.empty() ? "content part without a \"type\"" : "unknown content part type \"" + type + "\"");
          }
        }
      } else {
        add("jsonl.bad_content_part", m, -1, "content must be a string or an array of parts");
      }
    }
    if (!has_assistant) add("jsonl.no_assistant_message", -1, -1, "the example has no assistant message");
    if (n_images > policy.max_images_per_example)
      add("jsonl.too_many_images", -1, -1, std::to_string(n_images) + " images in one example (at most " +
                                               std::to_string(policy.max_images_per_example) + ")");
    result.text_tokens = chars / 4 + 4 * messages.size() + 3;
  }

};

}  // namespace

// Lenient decode of an inline payload kept verbatim: drop whitespace and
// JSON-escaped line breaks, accept missing padding. nullopt when invalid.
std::optional<std::string> lenient_base64(std::string_view payload) {
  std::string clean;
  clean.reserve(payload.size());
  for (char c : payload) {
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    clean.push_back(c);
  }
  while (clean.size() % 4) clean.push_back('=');
  if (clean.empty()) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && clean[clean.size() - 1 - pad] == '=') ++pad;
  std::string out(clean.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  if (n < 0 || static_cast<size_t>(n) < pad) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::optional<std::string> resolve_path(const std::string& dir, const std::string& ref) {
  if (ref.empty() || ref[0] == '/' || ref.rfind("file:", 0) == 0) return std::nullopt;
  std::vector<std::string> parts;
  auto push = [&](const std::string& s) {
    size_t start = 0;
    while (start <= s.size()) {
      size_t end = s.find('/', start);
      if (end == std::string::npos) end = s.size();
      std::string part = s.substr(start, end - start);
      if (part == "..") {
        if (parts.empty()) return false;
        parts.pop_back();
      } else if (!part.empty() && part != ".") {
        parts.push_back(part);
      }
      start = end + 1;
    }
    return true;
  };
  if (!dir.empty()) push(dir);
  if (!push(ref)) return std::nullopt;
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  if (out == ".kura" || out.rfind(".kura/", 0) == 0) return std::nullopt;
  return out;
}

std::map<std::string, size_t> cut_images(const ojson& example, const Row& row) {
  // The k-th string (document order) that ends in an empty data URI follows
  // the body's k-th `;base64,"` occurrence; cut ones sit at an image offset.
  std::map<std::string, size_t> cut_at;
  std::vector<std::optional<size_t>> occurrences;  // per `;base64,"` in the body: image index if cut
  size_t image = 0;
  for (size_t pos = 0; (pos = row.body.find(";base64,\"", pos)) != std::string::npos; pos += 9) {
    const bool cut = image < row.images.size() && row.images[image].offset == pos + 8;
    occurrences.push_back(cut ? std::optional<size_t>(image++) : std::nullopt);
  }
  size_t k = 0;
  std::function<void(const ojson&, const std::string&)> visit = [&](const ojson& j, const std::string& ptr) {
    if (j.is_string()) {
      const auto& s = j.get_ref<const std::string&>();
      if (s.size() >= 8 && s.compare(s.size() - 8, 8, ";base64,") == 0 && k < occurrences.size()) {
        if (occurrences[k]) cut_at[ptr] = *occurrences[k];
        ++k;
      }
    } else if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) visit(it.value(), ptr + "/" + it.key());
    } else if (j.is_array()) {
      for (size_t i = 0; i < j.size(); ++i) visit(j[i], ptr + "/" + std::to_string(i));
    }
  };
  visit(example, "");
  return cut_at;
}

RowResult check_row(Store& store, const Row& row, const Policy& policy) {
  Walker w{store, policy, row, {}, {}};
  if (nesting(row.body) > kMaxDepth) {
    w.add("jsonl.invalid_json", -1, -1, "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels");
    return std::move(w.result);
  }
  ojson example;
  try {
    example = ojson::parse(row.body);
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    size_t colon = what.find("] ");
    w.add("jsonl.invalid_json", -1, -1,
          row.body.empty() ? "empty line" : "not valid JSON: " + (colon == std::string::npos ? what : what.substr(colon + 2)));
    return std::move(w.result);
  }
  if (!example.is_object()) {
    w.add("jsonl.not_object", -1, -1, std::string("the line is a JSON ") + example.type_name() + ", not an object");
    return std::move(w.result);
  }
  if (const RowFormat format = row_format(policy.profile, example); format != RowFormat::kOpenAi)
    return check_format_row(format, store, row, example, policy);
  if (!example.contains("messages") || !example["messages"].is_array() || example["messages"].empty()) {
    w.add("jsonl.missing_messages", -1, -1, "no \"messages\" array (or it is empty)");
    return std::move(w.result);
  }
  w.result.is_example = true;
  w.cut_at = cut_images(example, row);
  w.walk(example);
  return std::move(w.result);
}

nlohmann::json finding_to_json(const Finding& f) {
  nlohmann::json j = {{"rule", f.rule}, {"severity", severity_name(f.severity)}};
  if (!f.path.empty()) j["path"] = f.path;
  if (f.line) j["line"] = f.line;
  if (f.message_index >= 0) j["message_index"] = f.message_index;
  if (f.content_index >= 0) j["content_index"] = f.content_index;
  if (!f.object.empty()) j["object"] = f.object;
  j["message"] = f.message;
  j["fix"] = f.fix;
  if (f.excluded) j["excluded"] = true;
  return j;
}

Finding finding_from_json(const nlohmann::json& j) {
  Finding f;
  f.rule = j.value("rule", "");
  std::string s = j.value("severity", "error");
  f.severity = s == "warning" ? Severity::kWarning : s == "info" ? Severity::kInfo : Severity::kError;
  f.path = j.value("path", "");
  f.line = j.value("line", uint64_t{0});
  f.message_index = j.value("message_index", -1);
  f.content_index = j.value("content_index", -1);
  f.object = j.value("object", "");
  f.message = j.value("message", "");
  f.fix = j.value("fix", "");
  f.excluded = j.value("excluded", false);
  return f;
}

nlohmann::json RowResult::to_json() const {
  nlohmann::json j = {{"e", is_example}, {"t", text_tokens}};
  j["f"] = nlohmann::json::array();
  for (const auto& f : findings) j["f"].push_back(finding_to_json(f));
  j["i"] = nlohmann::json::array();
  for (const auto& u : images)
    j["i"].push_back({u.kind, u.message_index, u.content_index, u.media, u.ref, u.declared, u.detail, u.field});
  return j;
}

RowResult RowResult::from_json(const nlohmann::json& j) {
  RowResult r;
  r.is_example = j.at("e").get<bool>();
  r.text_tokens = j.at("t").get<uint64_t>();
  for (const auto& f : j.at("f")) r.findings.push_back(finding_from_json(f));
  for (const auto& u : j.at("i")) {
    ImageUse use;
    use.kind = static_cast<ImageUse::Kind>(u[0].get<int>());
    use.message_index = u[1];
    use.content_index = u[2];
    use.media = u[3];
    use.ref = u[4];
    use.declared = u[5];
    use.detail = u[6];
    if (u.size() > 7) use.field = u[7];
    r.images.push_back(std::move(use));
  }
  return r;
}

}  // namespace kura::check
