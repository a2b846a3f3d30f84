// Rows in the formats of other trainers: LLaVA, ShareGPT as LLaMA-Factory
// reads it, and Axolotl's chat-template datasets. Each is checked for what
// makes its trainer fail or silently drop or misread the example, and yields
// the images it names, which the engine then inspects as for OpenAI rows.
#include <string>

#include "check/row_check.hpp"
#include "check/rules.hpp"
#include "kura/store.hpp"

namespace kura::check {

namespace {

using ojson = nlohmann::ordered_json;

const char kImageToken[] = "<image>";

size_t count_tokens(const std::string& text) {
  size_t n = 0;
  for (size_t at = text.find(kImageToken); at != std::string::npos; at = text.find(kImageToken, at + 1)) ++n;
  return n;
}

std::string plural(size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

struct FormatWalker {
  Store& store;
  const Policy& policy;
  const Row& row;
  std::map<std::string, size_t> cut_at;
  RowResult result;
  uint64_t chars = 0;

  void add(const std::string& rule, int m, int c, const std::string& message) {
    Finding f;
    f.message_index = m;
    f.content_index = c;
    f.message = message;
    if (make_finding(policy, rule, f)) result.findings.push_back(std::move(f));
  }

  // The image named by the string `ref` at JSON pointer `pointer` of the
  // row, written in field `field`: a data URI, an http(s) URL, plain base64
  // (`raw_base64`, Axolotl's "base64") or a path.
  void image(const std::string& ref, const std::string& pointer, const std::string& field, int m, int c,
             bool raw_base64 = false) {
    ImageUse use;
    use.message_index = m;
    use.content_index = c;
    use.field = field;
    if (ref.rfind("http://", 0) == 0 || ref.rfind("https://", 0) == 0) {
      use.kind = ImageUse::kRemote;
      use.ref = ref;
    } else if (ref.rfind("data:", 0) == 0) {
      const size_t semi = ref.find(";base64,");
      if (semi == std::string::npos || ref.rfind("data:image/", 0) != 0) {
        add("image.bad_base64", m, c, field + ": the data URI is not data:image/<type>;base64,<data>");
        return;
      }
      use.declared = ref.substr(11, semi - 11);
      const std::string_view payload = std::string_view(ref).substr(semi + 8);
      if (payload.empty()) {
        auto cut = cut_at.find(pointer);  // cut out by the store, or really empty
        if (cut == cut_at.end()) {
          add("image.bad_base64", m, c, field + ": the data URI has no image data");
          return;
        }
        use.media = row.images[cut->second].media.hex();
      } else if (auto bytes = lenient_base64(payload)) {
        use.media = store.put_object(*bytes).hex();
      } else {
        add("image.bad_base64", m, c, field + ": the inline image is not valid base64");
        return;
      }
    } else if (raw_base64) {
      auto bytes = lenient_base64(ref);
      if (!bytes) {
        add("image.bad_base64", m, c, field + ": not valid base64 (" + std::to_string(ref.size()) + " characters)");
        return;
      }
      use.media = store.put_object(*bytes).hex();
    } else {
      use.kind = ImageUse::kPath;
      use.ref = ref;
    }
    result.images.push_back(std::move(use));
  }

  // The images of a top-level field holding a path or a list of paths
  // (LLaVA's "image", ShareGPT's "images"); how many there are, or -1 when
  // the field is malformed (reported as `rule`).
  int image_list(const ojson& example, const std::string& key, const std::string& rule) {
    if (!example.contains(key)) return 0;
    const ojson& v = example[key];
    if (v.is_string()) {
      if (v.get_ref<const std::string&>().empty()) {
        add(rule, -1, -1, "\"" + key + "\" is an empty string; give the image's path, or remove the key");
        return -1;
      }
      image(v.get<std::string>(), "/" + key, "\"" + key + "\"", -1, 0);
      return 1;
    }
    if (!v.is_array()) {
      add(rule, -1, -1, "\"" + key + "\" is a JSON " + v.type_name() + "; it must be a path or a list of paths");
      return -1;
    }
    int n = 0;
    bool bad = false;
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string field = "\"" + key + "\"[" + std::to_string(i) + "]";
      if (!v[i].is_string() || v[i].get_ref<const std::string&>().empty()) {
        add(rule, -1, static_cast<int>(i), field + " is " + (v[i].is_string() ? "an empty string" : std::string("a JSON ") + v[i].type_name()) +
                                               "; it must be an image path");
        bad = true;
        continue;
      }
      image(v[i].get<std::string>(), "/" + key + "/" + std::to_string(i), field, -1, static_cast<int>(i));
      ++n;
    }
    return bad ? -1 : n;
  }

  void finish(size_t turns) { result.text_tokens = chars / 4 + 4 * turns + 3; }

  // LLaVA: {"id", "image": path | [paths], "conversations": [{"from", "value"}]}.
  void llava(const ojson& example) {
    if (!example.contains("conversations") || !example["conversations"].is_array() ||
        example["conversations"].empty()) {
      add("llava.missing_conversations", -1, -1, "no \"conversations\" array (or it is empty)");
      return;
    }
    result.is_example = true;
    const ojson& turns = example["conversations"];
    const int images = image_list(example, "image", "llava.bad_image_field");
    size_t tokens = 0, gpt_tokens = 0;
    bool well_formed = true;
    std::vector<std::string> from(turns.size());
    for (size_t i = 0; i < turns.size(); ++i) {
      const int m = static_cast<int>(i);
      const ojson& t = turns[i];
      const std::string where = "turn " + std::to_string(i);
      if (!t.is_object()) {
        add("llava.bad_turn", m, -1, where + " is not an object");
        well_formed = false;
        continue;
      }
      if (!t.contains("from") || !t["from"].is_string()) {
        add("llava.bad_turn", m, -1, where + " has no \"from\" string");
        well_formed = false;
      } else {
        from[i] = t["from"].get<std::string>();
        if (from[i] != "human" && from[i] != "gpt" && from[i] != "system") {
          add("llava.bad_turn", m, -1, where + " is from " + t["from"].dump() + ", not human, gpt or system");
          well_formed = false;
        }
      }
      if (!t.contains("value") || !t["value"].is_string()) {
        add("llava.bad_turn", m, -1, where + " has no \"value\" string");
        continue;
      }
      const std::string& value = t["value"].get_ref<const std::string&>();
      chars += value.size();
      const size_t n = count_tokens(value);
      tokens += n;
      if (from[i] == "gpt") gpt_tokens += n;
    }
    if (well_formed) role_order(from, "human", "gpt", "llava.bad_role_order", /*one_system=*/false);
    if (images >= 0 && tokens != static_cast<size_t>(images))
      add("llava.image_token_mismatch", -1, -1,
          plural(tokens, "<image> token", "<image> tokens") + " in \"conversations\" but " +
              plural(static_cast<size_t>(images), "image", "images") + " in \"image\"");
    else if (gpt_tokens)
      add("llava.image_token_mismatch", -1, -1, "an <image> token is in a gpt turn; it belongs in a human turn");
    finish(turns.size());
  }

  // Turns after the leading system turn(s) (one only when `one_system`)
  // alternate user, assistant, ending with the assistant. `user` and
  // `assistant` are the role names; ShareGPT also takes observation for a
  // user turn and function_call for an assistant one.
  void role_order(const std::vector<std::string>& from, const std::string& user, const std::string& assistant,
                  const std::string& rule, bool one_system) {
    size_t k = 0;
    while (k < from.size() && from[k] == "system" && (!one_system || k == 0)) ++k;
    const size_t first = k;
    if (first == from.size()) {
      add(rule, -1, -1, "the example has only system turns; it needs a " + user + " turn and a " + assistant + " answer");
      return;
    }
    const bool sharegpt = rule.rfind("sharegpt.", 0) == 0;
    for (; k < from.size(); ++k) {
      const bool want_user = (k - first) % 2 == 0;
      const std::string& want = want_user ? user : assistant;
      const bool ok = from[k] == want || (sharegpt && from[k] == (want_user ? "observation" : "function_call"));
      if (!ok) {
        add(rule, static_cast<int>(k), -1,
            "turn " + std::to_string(k) + " is a " + from[k] + " turn where a " + want + " turn must come (" + user +
                " and " + assistant + " alternate, " + (one_system ? "after one optional system turn" : "system first") + ")");
        return;
      }
    }
    if ((from.size() - first) % 2 != 0)
      add(rule, static_cast<int>(from.size() - 1), -1,
          "the example ends with a " + from.back() + " turn; it must end with the " + assistant + " answer");
  }

  // ShareGPT as LLaMA-Factory reads it: "conversations" of {"from", "value"}
  // (human, gpt) or "messages" of {"role", "content"} (user, assistant), an
  // optional "system" and "images".
  void sharegpt(const ojson& example) {
    const bool conversations = example.contains("conversations");
    const std::string key = conversations ? "conversations" : "messages";
    if (!example.contains(key) || !example[key].is_array() || example[key].empty()) {
      add("sharegpt.missing_conversations", -1, -1, "no \"conversations\" (or \"messages\") array, or it is empty");
      return;
    }
    result.is_example = true;
    const std::string role_tag = conversations ? "from" : "role", content_tag = conversations ? "value" : "content";
    const std::string user = conversations ? "human" : "user", assistant = conversations ? "gpt" : "assistant";
    const ojson& turns = example[key];
    const int images = image_list(example, "images", "sharegpt.bad_image_field");
    size_t tokens = 0;
    bool well_formed = true;
    std::vector<std::string> from(turns.size());
    for (size_t i = 0; i < turns.size(); ++i) {
      const int m = static_cast<int>(i);
      const ojson& t = turns[i];
      const std::string where = key + "[" + std::to_string(i) + "]";
      if (!t.is_object()) {
        add("sharegpt.bad_turn", m, -1, where + " is not an object");
        well_formed = false;
        continue;
      }
      if (!t.contains(role_tag) || !t[role_tag].is_string()) {
        add("sharegpt.bad_turn", m, -1, where + " has no \"" + role_tag + "\" string");
        well_formed = false;
      } else {
        from[i] = t[role_tag].get<std::string>();
        if (from[i] != user && from[i] != assistant && from[i] != "system" && from[i] != "observation" &&
            from[i] != "function_call") {
          add("sharegpt.bad_turn", m, -1,
              where + " has \"" + role_tag + "\": " + t[role_tag].dump() + ", not " + user + ", " + assistant +
                  ", system, observation or function_call");
          well_formed = false;
        }
      }
      if (!t.contains(content_tag) || !t[content_tag].is_string()) {
        add("sharegpt.bad_turn", m, -1, where + " has no \"" + content_tag + "\" string");
        continue;
      }
      const std::string& value = t[content_tag].get_ref<const std::string&>();
      chars += value.size();
      tokens += count_tokens(value);
    }
    if (well_formed) role_order(from, user, assistant, "sharegpt.bad_role_order", /*one_system=*/true);
    if (images >= 0 && tokens != static_cast<size_t>(images))
      add("sharegpt.image_token_mismatch", -1, -1,
          plural(tokens, "<image> token", "<image> tokens") + " in \"" + key + "\" but " +
              plural(static_cast<size_t>(images), "image", "images") + " in \"images\"");
    finish(turns.size());
  }

  // Axolotl's chat_template datasets: "messages" of {"role", "content"},
  // content a string or parts {"type": "text", "text"} and {"type":
  // "image", "path" | "url" | "base64" | "image"}.
  void axolotl(const ojson& example) {
    if (!example.contains("messages") || !example["messages"].is_array() || example["messages"].empty()) {
      add("axolotl.missing_messages", -1, -1, "no \"messages\" array (or it is empty)");
      return;
    }
    result.is_example = true;
    const ojson& messages = example["messages"];
    bool has_assistant = false;
    for (size_t i = 0; i < messages.size(); ++i) {
      const int m = static_cast<int>(i);
      const ojson& msg = messages[i];
      const std::string where = "messages[" + std::to_string(i) + "]";
      if (!msg.is_object()) {
        add("axolotl.bad_message", m, -1, where + " is not an object");
        continue;
      }
      if (!msg.contains("role") || !msg["role"].is_string()) {
        add("axolotl.bad_message", m, -1, where + " has no \"role\" string");
      } else {
        const std::string role = msg["role"].get<std::string>();
        if (role == "assistant" || role == "gpt") has_assistant = true;
        else if (role != "system" && role != "user" && role != "tool" && role != "human")
          add("axolotl.bad_message", m, -1,
              where + " has role " + msg["role"].dump() + ", not system, user, assistant or tool");
      }
      if (!msg.contains("content")) {
        add("axolotl.bad_message", m, -1, where + " has no \"content\"");
        continue;
      }
      const ojson& content = msg["content"];
      if (content.is_string()) {
        chars += content.get_ref<const std::string&>().size();
        continue;
      }
      if (!content.is_array()) {
        add("axolotl.bad_message", m, -1, where + ".content is a JSON " + std::string(content.type_name()) +
                                              "; it must be a string or a list of parts");
        continue;
      }
      for (size_t k = 0; k < content.size(); ++k) parts(content[k], m, static_cast<int>(k));
    }
    if (!has_assistant) add("axolotl.no_assistant_message", -1, -1, "the example has no assistant message");
    finish(messages.size());
  }

  void parts(const ojson& part, int m, int c) {
    const std::string where = "messages[" + std::to_string(m) + "].content[" + std::to_string(c) + "]";
    const std::string type =
        part.is_object() && part.contains("type") && part["type"].is_string() ? part["type"].get<std::string>() : "";
    if (type == "text") {
      if (!part.contains("text") || !part["text"].is_string())
        add("axolotl.bad_content_part", m, c, where + " is a text part without a \"text\" string");
      else chars += part["text"].get_ref<const std::string&>().size();
      return;
    }
    if (type != "image") {
      add("axolotl.bad_content_part", m, c,
          type.empty() ? where + " has no \"type\"" : where + " has the unknown type \"" + type + "\" (text or image)");
      return;
    }
    for (const char* key : {"path", "url", "base64", "image"}) {
      if (!part.contains(key)) continue;
      const ojson& v = part[key];
      if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
        add("axolotl.bad_content_part", m, c, where + "." + key + " is not a non-empty string");
        return;
      }
      const std::string pointer = "/messages/" + std::to_string(m) + "/content/" + std::to_string(c) + "/" + key;
      image(v.get<std::string>(), pointer, where + "." + key, m, c, std::string(key) == "base64");
      return;
    }
    add("axolotl.bad_content_part", m, c, where + " is an image part with no \"path\", \"url\" or \"base64\"");
  }
};

bool has_image_part(const ojson& messages) {
  if (!messages.is_array()) return false;
  for (const auto& msg : messages)
    if (msg.is_object() && msg.contains("content") && msg["content"].is_array())
      for (const auto& part : msg["content"])
        if (part.is_object() && part.contains("type") && part["type"] == "image") return true;
  return false;
}

}  // namespace

RowFormat row_format(const std::string& profile, const ojson& example) {
  if (profile == "llava") return RowFormat::kLlava;
  if (profile == "sharegpt") return RowFormat::kShareGpt;
  if (profile == "axolotl") return RowFormat::kAxolotl;
  if (profile != "generic") return RowFormat::kOpenAi;
  if (example.contains("images")) return RowFormat::kShareGpt;
  if (example.contains("conversations")) return example.contains("image") ? RowFormat::kLlava : RowFormat::kShareGpt;
  if (example.contains("messages") && has_image_part(example["messages"])) return RowFormat::kAxolotl;
  return RowFormat::kOpenAi;
}

RowResult check_format_row(RowFormat format, Store& store, const Row& row, const ojson& example,
                           const Policy& policy) {
  FormatWalker w{store, policy, row, cut_images(example, row), {}};
  switch (format) {
    case RowFormat::kLlava: w.llava(example); break;
    case RowFormat::kShareGpt: w.sharegpt(example); break;
    case RowFormat::kAxolotl: w.axolotl(example); break;
    case RowFormat::kOpenAi: break;  // not reached: check_row walks these itself
  }
  return std::move(w.result);
}

}  // namespace kura::check
