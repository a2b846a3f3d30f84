#include "table_cursor.hpp"

#include <exception>
#include <thread>
#include <utility>

#include "kura/error.hpp"
#include "kura/store.hpp"

namespace kura::python {

namespace {

bool blank_row(const Row& row) { return row.body.find_first_not_of(" \t\r") == std::string::npos; }

// kura.Example.label on a row read_example accepted (every message has a
// string role; a content is a string, a list of text and image_url parts,
// or absent with tool calls).
std::optional<std::string> label(const exporter::Example& ex) {
  const auto& messages = ex.json["messages"];
  for (size_t m = messages.size(); m-- > 0;) {
    const auto& msg = messages[m];
    if (msg["role"] != "assistant") continue;
    if (!msg.contains("content")) return std::string();
    const auto& content = msg["content"];
    if (content.is_string()) return content.get<std::string>();
    std::string out;
    bool first = true;
    if (content.is_array())
      for (const auto& part : content)
        if (part.contains("type") && part["type"] == "text") {
          if (!first) out += "\n";  // "\n".join(...): an empty first part still counts
          first = false;
          out += part["text"].get<std::string>();
        }
    return out;
  }
  return std::nullopt;
}

// Reads the rest of one cursor; false when it stopped at an unlabelled example.
bool collect(TableCursor& cursor, size_t image, TableItems& out) {
  while (const exporter::Example* ex = cursor.next()) {
    if (ex->images.size() <= image || ex->images[image].media.is_zero()) {
      ++out.without_image;
      continue;
    }
    out.lines.push_back(cursor.line());
    out.ids.push_back(ex->images[image].media.hex());
    out.labels.push_back(label(*ex));
    if (!out.labels.back()) return false;
  }
  return true;
}

}  // namespace

TableCursor::TableCursor(std::shared_ptr<Repo> repo, std::string path, std::string commit, const CheckReport* report,
                         bool include_excluded, ReadImages read_images, std::vector<ManifestChunk> chunks,
                         uint64_t first_line)
    : repo_(std::move(repo)), path_(std::move(path)), commit_(std::move(commit)), report_(report),
      include_excluded_(include_excluded), read_images_(read_images), chunks_(std::move(chunks)),
      line_(first_line) {}

const exporter::Example* TableCursor::next() {
  for (;;) {
    while (i_ >= rows_.size()) {
      if (k_ >= chunks_.size()) return nullptr;
      load(k_++);
    }
    const size_t at = i_++;
    const uint64_t line = ++line_;
    if (blank_row(rows_[at])) {
      ++blank_;
      continue;
    }
    if (!include_excluded_ && report_->excludes(path_, line)) {
      ++excluded_;
      continue;
    }
    const std::optional<exporter::Example>& ex = examples_[at];
    if (!ex) fail(ErrorCode::kInvalidInput, path_ + " line " + std::to_string(line) + ": " + whys_[at]);
    bool skip = false;
    for (const exporter::Image& img : ex->images)
      if (!img.file.empty() && !include_excluded_ && report_->excludes(img.file, 0)) skip = true;
    if (skip) {
      ++excluded_;
      continue;
    }
    return &*ex;
  }
}

const std::string* TableCursor::image_bytes(const ObjectId& id) const {
  auto it = bytes_.find(id);
  return it == bytes_.end() ? nullptr : &it->second;
}

std::vector<ManifestChunk> TableCursor::split(size_t min_chunks, uint64_t* first_line) {
  const size_t left = chunks_.size() - k_;
  if (left < min_chunks || left < 2) return {};
  const size_t mid = k_ + left / 2;
  *first_line = line_ + (rows_.size() - i_);  // the current chunk's rows not handed out yet
  for (size_t k = k_; k < mid; ++k) *first_line += chunks_[k].rows;
  std::vector<ManifestChunk> rest(chunks_.begin() + static_cast<std::ptrdiff_t>(mid), chunks_.end());
  chunks_.resize(mid);
  return rest;
}

void TableCursor::load(size_t k) {
  const Store& store = repo_->store();
  const std::vector<RowRef> refs = read_chunk(store, chunks_[k]);
  std::vector<ObjectId> ids;
  for (const RowRef& r : refs) ids.push_back(r.row);
  std::vector<std::string> bytes = read_objects(store, ids, ObjectCheck::kSha256);
  rows_.clear();
  for (size_t i = 0; i < refs.size(); ++i) rows_.push_back(decode_row(bytes[i], refs[i].row));
  i_ = 0;
  const exporter::FileLookup lookup = [this](const std::string& p) -> std::optional<FileEntry> {
    auto it = files_.find(p);
    if (it == files_.end()) it = files_.emplace(p, repo_->file_at(commit_, p)).first;
    return it->second;
  };
  // The chunk's examples, and the bytes of the images they hold, read in
  // one batch (SHA-256-checked) instead of one read an image.
  examples_.assign(rows_.size(), std::nullopt);
  whys_.assign(rows_.size(), std::string());
  bytes_.clear();
  std::vector<ObjectId> media;
  for (size_t i = 0; i < rows_.size(); ++i) {
    if (blank_row(rows_[i])) continue;
    examples_[i] = exporter::read_example(store, rows_[i], path_, lookup, &whys_[i]);
    if (examples_[i] && read_images_ == ReadImages::kYes)
      for (const exporter::Image& img : examples_[i]->images)
        if (!img.media.is_zero() && bytes_.emplace(img.media, std::string()).second) media.push_back(img.media);
  }
  if (media.empty()) return;
  std::vector<std::optional<std::string>> got = store.get_objects(media, ObjectCheck::kSha256);
  for (size_t i = 0; i < media.size(); ++i) {
    if (got[i]) bytes_[media[i]] = std::move(*got[i]);
    else bytes_.erase(media[i]);  // absent here: Image.bytes() reads (or fetches) it when asked
  }
}

TableItems read_items(TableCursor& cursor, size_t image, size_t min_chunks,
                      const std::function<std::unique_ptr<TableCursor>(std::vector<ManifestChunk>, uint64_t)>&
                          open_another) {
  TableItems first;
  uint64_t first_line = 0;
  std::vector<ManifestChunk> rest;
  if (open_another && std::thread::hardware_concurrency() > 1) rest = cursor.split(min_chunks, &first_line);
  if (rest.empty()) {
    collect(cursor, image, first);
  } else {
    // The second half on its own handle (a Repo is not thread-safe), read
    // while this thread reads the first; an error of the first half comes
    // before anything of the second.
    TableItems second;
    std::exception_ptr failed_second;
    std::unique_ptr<TableCursor> other;
    std::thread worker([&] {
      try {
        other = open_another(std::move(rest), first_line);
        collect(*other, image, second);
      } catch (...) {
        failed_second = std::current_exception();
      }
    });
    bool complete = false;
    try {
      complete = collect(cursor, image, first);
    } catch (...) {
      worker.join();
      throw;
    }
    worker.join();
    if (complete) {
      if (failed_second) std::rethrow_exception(failed_second);
      first.lines.insert(first.lines.end(), second.lines.begin(), second.lines.end());
      first.ids.insert(first.ids.end(), std::make_move_iterator(second.ids.begin()),
                       std::make_move_iterator(second.ids.end()));
      first.labels.insert(first.labels.end(), std::make_move_iterator(second.labels.begin()),
                          std::make_move_iterator(second.labels.end()));
      first.without_image += second.without_image;
      first.excluded += other->excluded();
      first.blank += other->blank();
    }
  }
  first.excluded += cursor.excluded();
  first.blank += cursor.blank();
  return first;
}

}  // namespace kura::python
