// /api/rows: a page of a table's examples, read chunk by chunk.
//
// The manifest lists the table's chunks with their row counts, so the chunks
// before the page are skipped without being read: the first page of a
// 200,000-row table reads one chunk (up to 4096 row ids) and 50 rows. With a
// filter, rows are read until the page is full or kScanLimit rows were
// looked at; `next_offset` says where the next request goes on.
#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "kura/error.hpp"
#include "kura/objects.hpp"
#include "kura/store.hpp"
#include "serve/api.hpp"

namespace kura::serve {

namespace {

using ojson = nlohmann::ordered_json;

constexpr uint64_t kScanLimit = 20000;
constexpr size_t kTextLimit = 20000;  // characters of one text part shown

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string clip(const std::string& s) { return s.size() > kTextLimit ? s.substr(0, kTextLimit) + "..." : s; }

bool is_cut_uri(const std::string& s) {
  return s.rfind("data:image/", 0) == 0 && s.size() > 8 && s.compare(s.size() - 8, 8, ";base64,") == 0;
}

// The strings where the row's cut-out images stood, in document order (an
// ordered_json keeps the line's key order, so this is the images' order).
void collect_cuts(const ojson& j, std::vector<const ojson*>& out) {
  if (j.is_string()) {
    if (is_cut_uri(j.get_ref<const std::string&>())) out.push_back(&j);
  } else if (j.is_structured()) {
    for (const auto& v : j) collect_cuts(v, out);
  }
}

// Turns one row into the example a page shows.
class ExampleReader {
 public:
  ExampleReader(Repo& repo, const std::string& commit, const std::string& table_path)
      : repo_(repo), store_(repo.store()), commit_(commit), policy_(repo.policy()) {
    const size_t slash = table_path.rfind('/');
    folder_ = slash == std::string::npos ? "" : table_path.substr(0, slash + 1);
  }

  json read(const Row& row, std::string* search_text, std::string* label) {
    json ex;
    ojson j;
    try {
      j = ojson::parse(row.body);
    } catch (const ojson::parse_error&) {
      ex["json"] = false;
      ex["text"] = clip(row.body);
      *search_text = lower(row.body);
      return ex;
    }
    ex["json"] = true;
    std::vector<const ojson*> cuts;
    collect_cuts(j, cuts);
    cut_index_.clear();
    for (size_t i = 0; i < cuts.size() && i < row.images.size(); ++i) cut_index_[cuts[i]] = i;
    images_ = &row.images;

    json messages = json::array();
    if (j.is_object() && j.contains("messages") && j["messages"].is_array()) {
      for (const auto& m : j["messages"]) messages.push_back(message(m, search_text, label));
    } else if (j.is_object() && j.contains("conversations") && j["conversations"].is_array()) {
      // LLaVA: {"image": path, "conversations": [{"from": "human", "value": "<image>\n..."}]}
      bool first = true;
      for (const auto& m : j["conversations"]) {
        json msg = {{"role", m.is_object() ? m.value("from", "") : ""}, {"parts", json::array()}};
        if (msg["role"] == "human") msg["role"] = "user";
        if (msg["role"] == "gpt") msg["role"] = "assistant";
        if (first && j.contains("image") && j["image"].is_string())
          msg["parts"].push_back(image_part(j["image"]));
        first = false;
        const std::string text = m.contains("value") && m["value"].is_string() ? m["value"].get<std::string>() : "";
        msg["parts"].push_back({{"type", "text"}, {"text", clip(text)}});
        *search_text += lower(text) + "\n";
        if (msg["role"] == "assistant") *label = text;
        messages.push_back(std::move(msg));
      }
    } else {
      ex["text"] = clip(row.body);
      *search_text = lower(row.body);
    }
    ex["messages"] = std::move(messages);
    return ex;
  }

 private:
  json message(const ojson& m, std::string* search_text, std::string* label) {
    json msg = {{"role", m.is_object() ? m.value("role", "") : ""}, {"parts", json::array()}};
    std::string text_of_message;
    if (!m.is_object() || !m.contains("content")) return msg;
    const ojson& content = m["content"];
    if (content.is_string()) {
      text_of_message = content.get<std::string>();
      msg["parts"].push_back({{"type", "text"}, {"text", clip(text_of_message)}});
    } else if (content.is_array()) {
      for (const auto& part : content) {
        const std::string type = part.is_object() ? part.value("type", "") : "";
        if (type == "text" && part.contains("text") && part["text"].is_string()) {
          const std::string& t = part["text"].get_ref<const std::string&>();
          text_of_message += t;
          msg["parts"].push_back({{"type", "text"}, {"text", clip(t)}});
        } else if (type == "image_url" && part.contains("image_url")) {
          const ojson& iu = part["image_url"];
          const ojson* url = iu.is_object() && iu.contains("url") ? &iu["url"] : (iu.is_string() ? &iu : nullptr);
          json p = url && url->is_string() ? image_part(*url) : json{{"type", "image"}, {"error", "no url"}};
          if (iu.is_object() && iu.contains("detail") && iu["detail"].is_string()) p["detail"] = iu["detail"];
          msg["parts"].push_back(std::move(p));
        } else {
          msg["parts"].push_back({{"type", "other"}, {"text", clip(part.dump())}});
        }
      }
    }
    *search_text += lower(text_of_message) + "\n";
    if (msg["role"] == "assistant") *label = text_of_message;
    return msg;
  }

  json image_part(const ojson& url) {
    const std::string& u = url.get_ref<const std::string&>();
    if (auto it = cut_index_.find(&url); it != cut_index_.end()) {
      json p = image_json(store_, policy_, (*images_)[it->second].media);
      p["type"] = "image";
      p["source"] = "inline";
      return p;
    }
    if (u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0)
      return {{"type", "image"}, {"source", "url"}, {"url", u}};
    if (u.rfind("data:", 0) == 0)
      return {{"type", "image"}, {"source", "inline"}, {"error", "an inline image that is not canonical base64 (kept in the row as text)"}};
    // A path relative to the table's folder, looked up in the same commit.
    std::string path = folder_ + u;
    std::vector<std::string> parts;
    size_t start = 0;
    bool bad = u.empty() || u.front() == '/';
    while (!bad && start <= path.size()) {
      size_t slash = std::min(path.find('/', start), path.size());
      std::string part = path.substr(start, slash - start);
      if (part == "..") {
        if (parts.empty()) bad = true;
        else parts.pop_back();
      } else if (!part.empty() && part != ".") {
        parts.push_back(part);
      }
      start = slash + 1;
    }
    json p = {{"type", "image"}, {"source", "path"}, {"path", u}};
    if (bad) {
      p["error"] = "the path leaves the repository";
      return p;
    }
    std::string resolved;
    for (const auto& part : parts) resolved += (resolved.empty() ? "" : "/") + part;
    std::optional<FileEntry> f = repo_.file_at(commit_, resolved);
    if (!f || f->pointer.kind != FileKind::kMedia) {
      p["error"] = "no file '" + resolved + "' in this commit";
      return p;
    }
    json facts = image_json(store_, policy_, f->pointer.object);
    facts.update(p);
    facts["resolved"] = resolved;
    return facts;
  }

  Repo& repo_;
  const Store& store_;
  std::string commit_, folder_;
  Policy policy_;
  std::unordered_map<const ojson*, size_t> cut_index_;
  const std::vector<RowImage>* images_ = nullptr;
};

}  // namespace

json api_rows(Repo& repo, ReportCache& reports, const RowsQuery& query, ServeCounters& counters) {
  const CommitInfo commit = repo.resolve(query.rev);
  std::optional<FileEntry> file = repo.file_at(commit.id, query.path);
  if (!file) fail(ErrorCode::kNotFound, "commit " + commit.id.substr(0, 12) + " has no file '" + query.path + "'");
  if (file->pointer.kind != FileKind::kTable)
    fail(ErrorCode::kInvalidInput, "'" + query.path + "' is not a JSONL table; only .jsonl files have rows");
  const Store& store = repo.store();
  auto report = reports.report(repo, commit.id);
  const std::string want_q = lower(query.q);
  const bool filtered = !query.q.empty() || !query.label.empty();

  ExampleReader reader(repo, commit.id, query.path);
  const WorkingExclusions working(repo.root());
  json examples = json::array();
  uint64_t first_line = 0, scanned = 0, next = 0;
  bool done = false;
  for (const ManifestChunk& chunk : read_manifest_chunks(store, file->pointer.object)) {
    if (first_line + chunk.rows <= query.offset) {
      first_line += chunk.rows;
      continue;
    }
    const std::vector<RowRef> refs = read_chunk(store, chunk);
    counters.chunks_read++;
    for (size_t i = 0; i < refs.size(); ++i) {
      const uint64_t line = first_line + i;  // 0-based
      if (line < query.offset) continue;
      if (examples.size() >= query.limit || scanned >= kScanLimit) {
        next = line;
        done = true;
        break;
      }
      ++scanned;
      counters.rows_read++;
      const Row row = decode_row(store.read_object(refs[i].row), refs[i].row);
      std::string text, label;
      json ex = reader.read(row, &text, &label);
      if (!want_q.empty() && text.find(want_q) == std::string::npos) continue;
      if (!query.label.empty() && label != query.label) continue;
      ex["line"] = line + 1;
      ex["row"] = refs[i].row.hex();
      ex["label"] = label;
      ex["exclusion"] = working.state(query.path, line + 1, ex["row"].get<std::string>());
      if (report) {
        ex["excluded"] = report->report.excludes(query.path, line + 1);
        json found = json::array();
        auto by_path = report->by_line.find(query.path);
        if (by_path != report->by_line.end())
          if (auto it = by_path->second.find(line + 1); it != by_path->second.end())
            for (uint32_t k : it->second) {
              Finding f = report->report.findings[k];
              found.push_back({{"rule", f.rule}, {"severity", severity_name(f.severity)}, {"message", f.message},
                               {"fix", f.fix}, {"excluded", f.excluded}});
            }
        ex["findings"] = std::move(found);
      }
      examples.push_back(std::move(ex));
    }
    if (done) break;
    first_line += chunk.rows;
  }
  json out = {{"commit", commit.id},    {"path", query.path},      {"rows", file->pointer.rows},
              {"size", file->pointer.size}, {"offset", query.offset}, {"limit", query.limit},
              {"examples", examples},   {"scanned", scanned},      {"filtered", filtered},
              {"checked", report != nullptr}, {"exclusions_malformed", working.malformed()}};
  out["next_offset"] = done ? json(next) : json();
  return out;
}

}  // namespace kura::serve
