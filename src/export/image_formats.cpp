// hf-imagefolder and classes: one image per example, in split folders.
#include "export/formats.hpp"

namespace kura::exporter {

namespace {

using ojson = nlohmann::ordered_json;

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

// The one image of a single-image example whose image sits in a user turn.
std::optional<std::string> one_image(const Example& ex) {
  if (ex.images.size() != 1) return std::to_string(ex.images.size()) + " images; this format needs exactly one";
  const Image& img = ex.images[0];
  if (!img.remote_url.empty()) return "the image " + img.remote_url + " is a remote URL, not in the commit";
  if (ex.messages[img.message].role != "user")
    return "message " + std::to_string(img.message) + " has an image outside a user message";
  for (size_t m = 0; m < ex.messages.size(); ++m)
    if (ex.messages[m].tool_calls) return "message " + std::to_string(m) + " is a tool call or result";
  return std::nullopt;
}

class ImageFolder : public Format {
 public:
  explicit ImageFolder(Output& out) : out_(out) {}
  void begin(const std::string& split) override {
    split_ = split;
    file_ = out_.open(split + "/metadata.jsonl");
  }
  std::optional<std::string> add(const Example& ex, const std::string& id) override {
    if (auto why = one_image(ex)) return why;
    std::string system, prompt, answer;
    int users = 0, answers = 0;
    for (size_t m = 0; m < ex.messages.size(); ++m) {
      const std::string& role = ex.messages[m].role;
      if (role == "system") system += (system.empty() ? "" : "\n") + ex.text(m);
      else if (role == "user" && ++users == 1) prompt = ex.text(m);
      else if (role == "assistant" && ++answers == 1) answer = ex.text(m);
      else if (role != "user" && role != "assistant") return "message " + std::to_string(m) + " has role \"" + role + "\"";
    }
    if (users != 1 || answers != 1)
      return std::to_string(users) + " user and " + std::to_string(answers) +
             " assistant turns; a metadata.jsonl row holds one question and one answer";
    const std::string path = out_.image(split_, ex.images[0].media);
    ojson row = {{"file_name", path.substr(split_.size() + 1)}, {"source", id}, {"system", system},
                 {"prompt", prompt}, {"text", answer}};
    file_->write(row.dump(-1, ' ', false, ojson::error_handler_t::strict));
    file_->write("\n");
    return std::nullopt;
  }
  void end() override {
    file_->close();
    file_.reset();
  }

 private:
  Output& out_;
  std::string split_;
  std::unique_ptr<Output::File> file_;
};

class Classes : public Format {
 public:
  Classes(Output& out, FormatStats& stats) : out_(out), stats_(stats) {}
  void begin(const std::string& split) override { split_ = split; }
  std::optional<std::string> add(const Example& ex, const std::string&) override {
    if (auto why = one_image(ex)) return why;
    // The label, as the classify recipe of kura train reads it: the last assistant turn.
    std::string label;
    for (size_t m = ex.messages.size(); m-- > 0;)
      if (ex.messages[m].role == "assistant") {
        label = trim(ex.text(m));
        if (label.empty()) return "the assistant's answer (the label) is empty";
        break;
      }
    if (label.empty()) return "no assistant message to take the label from";
    if (label.size() > 200 || label == "." || label == ".." || label[0] == '.' ||
        label.find_first_of(std::string("/\\\n\r\t\0", 7)) != std::string::npos)
      return "the label \"" + label.substr(0, 60) + "\" cannot be a folder name";
    const uint64_t before = out_.images();
    out_.image(split_ + "/" + label, ex.images[0].media);
    if (out_.images() == before) ++stats_.duplicate_images;
    return std::nullopt;
  }
  void end() override {}

 private:
  Output& out_;
  FormatStats& stats_;
  std::string split_;
};

}  // namespace

std::unique_ptr<Format> make_image_format(const std::string& format, Output& out, FormatStats& stats) {
  if (format == "hf-imagefolder") return std::make_unique<ImageFolder>(out);
  if (format == "classes") return std::make_unique<Classes>(out, stats);
  return nullptr;
}

}  // namespace kura::exporter
