#include "train/dataset.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "kura/error.hpp"
#include "kura/image_facts.hpp"
#include "util/base64.hpp"
#include "util/parallel.hpp"

namespace kura::train {

namespace {

bool is_excluded(const CheckReport* report, const std::string& path, uint64_t line) {
  return report && report->excludes(path, line);
}

std::string read_all(const Repo& repo, const FileEntry& file) {
  std::string out;
  repo.read_file(file, [&](std::string_view part) { out.append(part); });
  return out;
}

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

// "a/b/../c.jpg" relative to `dir`; empty when it leaves the data set.
std::string join_path(const std::string& dir, const std::string& ref) {
  std::vector<std::string> parts;
  std::string all = dir.empty() ? ref : dir + "/" + ref;
  size_t start = 0;
  while (start <= all.size()) {
    size_t end = std::min(all.find('/', start), all.size());
    std::string part = all.substr(start, end - start);
    if (part == "..") {
      if (parts.empty()) return "";
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

struct JsonlReader {
  const Repo& repo;
  const std::string& commit;
  const CheckReport* report;
  uint64_t excluded = 0;

  [[noreturn]] void bad(const std::string& where, const std::string& what) {
    fail(ErrorCode::kInvalidInput, where + ": " + what);
  }

  // The label: the last assistant message's text.
  std::string label_of(const nlohmann::json& messages, const std::string& where) {
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
      if (!it->is_object() || it->value("role", "") != "assistant") continue;
      const auto& c = (*it)["content"];
      std::string text;
      if (c.is_string()) text = c.get<std::string>();
      else if (c.is_array())
        for (const auto& part : c)
          if (part.is_object() && part.value("type", "") == "text" && part["text"].is_string())
            text += part["text"].get<std::string>();
      text = trim(text);
      if (text.empty()) bad(where, "the assistant's answer (the label) is empty");
      return text;
    }
    bad(where, "no assistant message: the classify recipe takes the assistant's answer as the label");
  }

  // The one image of the example: the URL of the user messages' image_url part.
  std::string image_url_of(const nlohmann::json& messages, const std::string& where) {
    std::vector<std::string> urls;
    for (const auto& m : messages) {
      if (!m.is_object() || m.value("role", "") != "user" || !m["content"].is_array()) continue;
      for (const auto& part : m["content"]) {
        if (!part.is_object() || part.value("type", "") != "image_url") continue;
        const auto& iu = part["image_url"];
        if (iu.is_object() && iu["url"].is_string()) urls.push_back(iu["url"].get<std::string>());
        else if (iu.is_string()) urls.push_back(iu.get<std::string>());
        else bad(where, "an image_url part has no url");
      }
    }
    if (urls.size() != 1)
      bad(where, "the classify recipe needs exactly one image per example; this one has " + std::to_string(urls.size()));
    return urls[0];
  }

  // Returns false when the image file is excluded by the checks.
  bool image_bytes(const std::string& url, const std::string& dir, const std::string& where, std::string* out) {
    if (url.rfind("data:", 0) == 0) {
      size_t comma = url.find(',');
      if (comma == std::string::npos || url.substr(0, comma).find(";base64") == std::string::npos)
        bad(where, "the image data URI is not base64 (expected data:image/...;base64,...)");
      std::string payload = url.substr(comma + 1);
      std::erase_if(payload, [](char c) { return c == '\n' || c == '\r' || c == '\\'; });
      while (payload.size() % 4) payload += '=';
      auto decoded = base64_decode_canonical(payload);
      if (!decoded) bad(where, "the image data URI's base64 payload does not decode");
      *out = std::move(*decoded);
      return true;
    }
    if (url.find("://") != std::string::npos)
      bad(where, "image " + url + " is a remote URL; training reads only images stored in the commit");
    std::string path = join_path(dir, url);
    if (path.empty()) bad(where, "image path '" + url + "' leaves the data set");
    auto file = repo.file_at(commit, path);
    if (!file || file->pointer.kind != FileKind::kMedia)
      bad(where, "image path '" + url + "' names no file in commit " + commit.substr(0, 12) + " (looked for '" + path + "')");
    if (is_excluded(report, path, 0)) return false;
    *out = read_all(repo, *file);
    return true;
  }

  std::vector<Example> read(const FileEntry& file) {
    std::vector<Example> out;
    const std::string text = read_all(repo, file);
    const size_t slash = file.path.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : file.path.substr(0, slash);
    uint64_t line = 0;
    for (size_t start = 0; start < text.size();) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string row = text.substr(start, end - start);
      start = end + 1;
      ++line;
      if (trim(row).empty()) continue;
      if (is_excluded(report, file.path, line)) {
        ++excluded;
        continue;
      }
      const std::string where = file.path + ":" + std::to_string(line);
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(row);
      } catch (const nlohmann::json::exception& e) {
        bad(where, "not valid JSON (" + std::string(e.what()) + ")");
      }
      if (!j.is_object() || !j["messages"].is_array()) bad(where, "no \"messages\" array");
      Example ex;
      ex.source = where;
      ex.label = label_of(j["messages"], where);
      if (!image_bytes(image_url_of(j["messages"], where), dir, where, &ex.image)) {
        ++excluded;
        continue;
      }
      out.push_back(std::move(ex));
    }
    return out;
  }
};

bool is_image_name(const std::string& path) {
  static const std::set<std::string> kExt = {"jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"};
  size_t dot = path.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return kExt.count(ext) > 0;
}

// dir/<label>/<name>: one example per image, in path order.
std::vector<Example> read_folder(const Repo& repo, const std::string& commit, const std::string& dir,
                                 const CheckReport* report, uint64_t* excluded_count) {
  std::vector<Example> out;
  for (const FileEntry& f : repo.ls_files(commit, {dir})) {
    std::string rest = f.path.substr(dir.size() + 1);
    size_t slash = rest.find('/');
    if (slash == std::string::npos || rest.find('/', slash + 1) != std::string::npos || !is_image_name(rest)) continue;
    if (f.pointer.kind != FileKind::kMedia) continue;
    if (is_excluded(report, f.path, 0)) {
      ++*excluded_count;
      continue;
    }
    out.push_back({f.path, read_all(repo, f), rest.substr(0, slash)});
  }
  return out;
}

// One image to size x size x 3 bytes (CHW), into `out`; returns an error text or "".
std::string decode_one(const std::string& bytes, int size, uint8_t* out) {
  ImagePixels pixels = decode_pixels(bytes, size);
  if (!pixels.error.empty()) return pixels.error;
  std::copy(pixels.chw.begin(), pixels.chw.end(), out);
  return "";
}

}  // namespace

Split load_examples(const Repo& repo, const std::string& commit, const nlohmann::json& data, const CheckReport* report) {
  Split split;
  const std::string train_file = data.at("train_file"), validation_file = data.at("validation_file");
  const std::string train_dir = data.at("train_dir"), validation_dir = data.at("validation_dir");
  if (auto train = repo.file_at(commit, train_file)) {
    if (train->pointer.kind != FileKind::kTable)
      fail(ErrorCode::kInvalidInput, train_file + " is not a JSONL table in commit " + commit.substr(0, 12));
    JsonlReader reader{repo, commit, report};
    split.kind = "jsonl";
    split.train = reader.read(*train);
    if (auto val = repo.file_at(commit, validation_file)) split.validation = reader.read(*val);
    split.excluded = reader.excluded;
  } else {
    split.kind = "folders";
    split.train = read_folder(repo, commit, train_dir, report, &split.excluded);
    split.validation = read_folder(repo, commit, validation_dir, report, &split.excluded);
    if (split.train.empty())
      fail(ErrorCode::kInvalidInput, "commit " + commit.substr(0, 12) + " has no training data: no " + train_file +
                                         " and no images in " + train_dir +
                                         "/<label>/ (set train_file or train_dir to point at them)");
  }
  if (split.train.empty())
    fail(ErrorCode::kInvalidInput, train_file + " in commit " + commit.substr(0, 12) + " has no training example left" +
                                       (split.excluded ? " (the checks exclude " + std::to_string(split.excluded) + ")" : ""));
  return split;
}

std::vector<Example> load_set(const Repo& repo, const std::string& commit, const std::string& file,
                              const std::string& dir, const CheckReport* report, uint64_t* excluded) {
  std::vector<Example> out;
  if (auto table = repo.file_at(commit, file); table && table->pointer.kind == FileKind::kTable) {
    JsonlReader reader{repo, commit, report};
    out = reader.read(*table);
    *excluded += reader.excluded;
    return out;
  }
  out = read_folder(repo, commit, dir, report, excluded);
  if (out.empty() && *excluded == 0)
    fail(ErrorCode::kInvalidInput, "commit " + commit.substr(0, 12) + " has no " + file + " and no images in " + dir +
                                       "/<label>/ to evaluate on");
  return out;
}

Images decode_examples(const std::vector<Example>& examples, int size, unsigned threads,
                       const std::vector<std::string>& labels, uint64_t* unknown) {
  std::map<std::string, int64_t> index;
  for (size_t i = 0; i < labels.size(); ++i) index[labels[i]] = static_cast<int64_t>(i);
  std::vector<const Example*> kept;
  Images out;
  out.size = size;
  for (const auto& e : examples) {
    auto it = index.find(e.label);
    if (it == index.end()) {
      if (unknown) ++*unknown;
      continue;
    }
    kept.push_back(&e);
    out.labels.push_back(it->second);
    out.sources.push_back(e.source);
  }
  const size_t per = static_cast<size_t>(3) * size * size;
  out.pixels.resize(kept.size() * per);
  std::vector<std::string> errors(kept.size());
  parallel_for(kept.size(), threads, [&](size_t i) { errors[i] = decode_one(kept[i]->image, size, &out.pixels[i * per]); });
  for (size_t i = 0; i < kept.size(); ++i)
    if (!errors[i].empty())
      fail(ErrorCode::kInvalidInput, kept[i]->source + ": the image does not decode: " + errors[i]);
  return out;
}

Images decode_files(const std::vector<std::string>& files, const std::vector<std::string>& names, int size) {
  std::vector<Example> examples;
  for (size_t i = 0; i < files.size(); ++i) examples.push_back({names[i], files[i], "?"});
  return decode_examples(examples, size, 1, {"?"}, nullptr);
}

}  // namespace kura::train
