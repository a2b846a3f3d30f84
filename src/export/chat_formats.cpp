// openai, axolotl, sharegpt (LLaMA-Factory) and llava: conversations.
#include "export/formats.hpp"

namespace kura::exporter {

namespace {

using ojson = nlohmann::ordered_json;

std::string dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::strict); }

bool same_type(std::string declared, const std::string& mime) {
  if (declared == "jpg") declared = "jpeg";
  return "image/" + declared == mime;
}

// What every format but openai needs: system, user and assistant turns of
// text and images, images in user turns only, and all images in the commit.
std::optional<std::string> plain_chat(const Example& ex) {
  for (size_t m = 0; m < ex.messages.size(); ++m) {
    const Message& msg = ex.messages[m];
    if (msg.tool_calls) return "message " + std::to_string(m) + " is a tool call or result";
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant")
      return "message " + std::to_string(m) + " has role \"" + msg.role + "\"";
  }
  for (const Image& img : ex.images) {
    if (ex.messages[img.message].role != "user")
      return "message " + std::to_string(img.message) + " has an image outside a user message";
    if (!img.remote_url.empty()) return "the image " + img.remote_url + " is a remote URL, not in the commit";
  }
  return std::nullopt;
}

// System turns first, then user and assistant alternating from a user turn.
std::optional<std::string> alternating(const Example& ex, size_t* first_turn) {
  size_t m = 0;
  while (m < ex.messages.size() && ex.messages[m].role == "system") ++m;
  *first_turn = m;
  if (m == ex.messages.size()) return "the example has no user or assistant turn";
  for (size_t k = m; k < ex.messages.size(); ++k) {
    const char* want = (k - m) % 2 == 0 ? "user" : "assistant";
    if (ex.messages[k].role != want)
      return "message " + std::to_string(k) + " is a " + ex.messages[k].role + " turn where a " + want +
             " turn must come (turns must alternate, system first)";
  }
  if (ex.messages.back().role != "assistant") return "the example does not end with an assistant turn";
  return std::nullopt;
}

std::optional<std::string> literal_tag(const Example& ex) {
  for (size_t m = 0; m < ex.messages.size(); ++m)
    for (const Part& p : ex.messages[m].parts)
      if (!p.image && p.text.find("<image>") != std::string::npos)
        return "message " + std::to_string(m) + " contains the text <image>, which this format reads as an image tag";
  return std::nullopt;
}

std::string joined_system(const Example& ex, size_t first_turn) {
  std::string s;
  for (size_t m = 0; m < first_turn; ++m) s += (s.empty() ? "" : "\n") + ex.text(m);
  return s;
}

class JsonlFormat : public Format {
 public:
  explicit JsonlFormat(Output& out) : out_(out) {}
  void begin(const std::string& split) override { file_ = out_.open(split + ".jsonl"); }
  void end() override {
    file_->close();
    file_.reset();
  }
  const Output::File* file() const override { return file_.get(); }

 protected:
  void line(const std::string& text) {
    file_->write(text);
    file_->write("\n");
  }
  Output& out_;
  std::unique_ptr<Output::File> file_;
};

class OpenAi : public JsonlFormat {
 public:
  OpenAi(Output& out, bool inline_images, FormatStats& stats)
      : JsonlFormat(out), inline_(inline_images), stats_(stats) {}

  std::optional<std::string> add(const Example& ex, const std::string&) override {
    if (as_committed(ex)) {
      write_as_committed(ex);
      return std::nullopt;
    }
    ojson j = ex.json;
    std::vector<std::string> uris;  // inline: spliced in after dump, not copied through the JSON value
    for (const Image& img : ex.images) {
      ojson& url = j[ojson::json_pointer(img.pointer)];
      if (!img.remote_url.empty()) {
        ++stats_.remote_images;
        continue;
      }
      std::string mime;
      if (!inline_) {
        url = out_.image("images", img.media, &mime);
      } else {
        mime = out_.image_type(img.media).second;
        uris.push_back("data:" + mime + ";base64," + out_.image_base64(img.media));
        url = "\x01kura-image-" + std::to_string(uris.size() - 1) + "\x01";
      }
      if (!img.declared.empty() && !same_type(img.declared, mime)) ++stats_.mime_mismatches;
    }
    std::string text = dump(j);
    if (!uris.empty() && !splice(text, uris)) {
      j = ex.json;  // the row itself held a marker: set the URIs in full
      size_t k = 0;
      for (const Image& img : ex.images)
        if (img.remote_url.empty()) j[ojson::json_pointer(img.pointer)] = uris[k++];
      text = dump(j);
    }
    line(text);
    return std::nullopt;
  }

  // A row whose images are all inline, cut out by the store and of the type
  // they claim goes out as the committed line itself (the images re-inlined).
  bool as_committed(const Example& ex) override {
    if (!inline_) return false;
    size_t cut = 0;
    for (const Image& img : ex.images)
      if (img.remote_url.empty()) {
        if (!img.cut || !same_type(img.declared, out_.image_type(img.media).second)) return false;
        ++cut;
      }
    return cut == ex.row->images.size();
  }

 private:
  // The body with each image's bytes base64-encoded into the file at its offset.
  void write_as_committed(const Example& ex) {
    const Row& row = *ex.row;
    size_t copied = 0;
    for (const RowImage& image : row.images) {
      file_->write(std::string_view(row.body).substr(copied, image.offset - copied));
      file_->write_base64(out_.image_bytes(image.media));
      copied = image.offset;
    }
    file_->write(std::string_view(row.body).substr(copied));
    file_->write("\n");
    for (const Image& img : ex.images) stats_.remote_images += !img.remote_url.empty();
  }
  static bool splice(std::string& text, const std::vector<std::string>& uris) {
    std::string out;
    size_t copied = 0;
    for (size_t k = 0; k < uris.size(); ++k) {
      const std::string marker = "\\u0001kura-image-" + std::to_string(k) + "\\u0001";
      size_t at = text.find(marker, copied);
      if (at == std::string::npos || text.find(marker, at + 1) != std::string::npos) return false;
      out.append(text, copied, at - copied);
      out += uris[k];
      copied = at + marker.size();
    }
    if (text.find("\\u0001kura-image-", copied) != std::string::npos) return false;
    out.append(text, copied);
    text = std::move(out);
    return true;
  }
  bool inline_;
  FormatStats& stats_;
};

class Axolotl : public JsonlFormat {
 public:
  using JsonlFormat::JsonlFormat;
  std::optional<std::string> add(const Example& ex, const std::string&) override {
    if (auto why = plain_chat(ex)) return why;
    ojson messages = ojson::array();
    for (const Message& msg : ex.messages) {
      ojson content = ojson::array();
      for (const Part& p : msg.parts) {
        if (p.image) content.push_back({{"type", "image"}, {"path", out_.image("images", ex.images[p.index].media)}});
        else content.push_back({{"type", "text"}, {"text", p.text}});
      }
      messages.push_back({{"role", msg.role}, {"content", std::move(content)}});
    }
    line(dump({{"messages", std::move(messages)}}));
    return std::nullopt;
  }
};

class ShareGpt : public JsonlFormat {
 public:
  using JsonlFormat::JsonlFormat;
  std::optional<std::string> add(const Example& ex, const std::string&) override {
    size_t first = 0;
    if (auto why = plain_chat(ex)) return why;
    if (auto why = alternating(ex, &first)) return why;
    if (auto why = literal_tag(ex)) return why;
    ojson turns = ojson::array(), images = ojson::array();
    for (size_t m = first; m < ex.messages.size(); ++m) {
      turns.push_back({{"from", ex.messages[m].role == "user" ? "human" : "gpt"}, {"value", ex.text(m, "<image>")}});
      for (const Part& p : ex.messages[m].parts)
        if (p.image) images.push_back(out_.image("images", ex.images[p.index].media));
    }
    line(dump({{"conversations", std::move(turns)}, {"system", joined_system(ex, first)}, {"images", std::move(images)}}));
    return std::nullopt;
  }
  void finish(const std::vector<std::string>& splits) override {
    ojson info = ojson::object();
    for (const auto& split : splits)
      info["kura_" + split] = {{"file_name", split + ".jsonl"},
                               {"formatting", "sharegpt"},
                               {"columns", {{"messages", "conversations"}, {"system", "system"}, {"images", "images"}}},
                               {"tags",
                                {{"role_tag", "from"}, {"content_tag", "value"}, {"user_tag", "human"},
                                 {"assistant_tag", "gpt"}}}};
    out_.write_whole("dataset_info.json", info.dump(2) + "\n");
  }
};

class Llava : public Format {
 public:
  explicit Llava(Output& out) : out_(out) {}
  void begin(const std::string& split) override {
    file_ = out_.open(split + ".json");
    file_->write("[");
    first_ = true;
  }
  std::optional<std::string> add(const Example& ex, const std::string& id) override {
    size_t first = 0;
    if (auto why = plain_chat(ex)) return why;
    if (ex.images.size() > 1)
      return std::to_string(ex.images.size()) + " images in one example; LLaVA takes at most one";
    if (auto why = alternating(ex, &first)) return why;
    if (auto why = literal_tag(ex)) return why;
    ojson item = {{"id", id}};
    if (!ex.images.empty()) item["image"] = out_.image("images", ex.images[0].media);
    ojson turns = ojson::array();
    std::string system = joined_system(ex, first);
    for (size_t m = first; m < ex.messages.size(); ++m) {
      const bool user = ex.messages[m].role == "user";
      std::string value = ex.text(m);
      if (user && m == first && !system.empty()) value = system + "\n\n" + value;
      if (user && !ex.images.empty() && static_cast<size_t>(ex.images[0].message) == m) value = "<image>\n" + value;
      turns.push_back({{"from", user ? "human" : "gpt"}, {"value", value}});
    }
    item["conversations"] = std::move(turns);
    file_->write(first_ ? "\n" : ",\n");
    file_->write(dump(item));
    first_ = false;
    return std::nullopt;
  }
  void end() override {
    file_->write(first_ ? "]\n" : "\n]\n");
    file_->close();
    file_.reset();
  }

 private:
  Output& out_;
  std::unique_ptr<Output::File> file_;
  bool first_ = true;
};

}  // namespace

std::unique_ptr<Format> make_image_format(const std::string& format, Output& out, FormatStats& stats);

std::unique_ptr<Format> make_format(const std::string& format, Output& out, bool inline_images, FormatStats& stats) {
  if (format == "openai") return std::make_unique<OpenAi>(out, inline_images, stats);
  if (format == "axolotl") return std::make_unique<Axolotl>(out);
  if (format == "sharegpt") return std::make_unique<ShareGpt>(out);
  if (format == "llava") return std::make_unique<Llava>(out);
  return make_image_format(format, out, stats);
}

}  // namespace kura::exporter
