// TableCursor: the examples of a run of chunks of one table of one commit,
// read a chunk at a time on one Repo handle, minus what the commit's check
// report excludes: what kura.Repo.examples() iterates, and what
// kura.torch.ChatImageDataset reads its items from (docs/python.md).
//
// Plain C++, no Python object: called with the GIL released. Not
// thread-safe (it uses its Repo, whose methods are not); two cursors on two
// Repo handles may run at once, which is how TableItems reads the two halves
// of a large table together.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "export/example.hpp"
#include "kura/check.hpp"
#include "kura/objects.hpp"
#include "kura/repo.hpp"

namespace kura::python {

enum class ReadImages { kNo, kYes };

class TableCursor {
 public:
  // `chunks` are the table's chunks from the one whose first row is line
  // `first_line` + 1; `report` outlives the cursor.
  TableCursor(std::shared_ptr<Repo> repo, std::string path, std::string commit, const CheckReport* report,
              bool include_excluded, ReadImages read_images, std::vector<ManifestChunk> chunks,
              uint64_t first_line = 0);

  // The next example (line() its 1-based line), nullptr after the last;
  // Error(kInvalidInput) naming the line for a row that is not an example.
  // Valid until the next call.
  const exporter::Example* next();
  uint64_t line() const { return line_; }
  // The bytes of the current chunk's images (ReadImages::kYes), by id;
  // one the store lacks is not there.
  const std::string* image_bytes(const ObjectId& id) const;

  uint64_t excluded() const { return excluded_; }
  uint64_t blank() const { return blank_; }

  // Gives up the second half of the chunks not read yet (none when fewer
  // than `min_chunks` are left) and the line before their first row.
  std::vector<ManifestChunk> split(size_t min_chunks, uint64_t* first_line);

 private:
  void load(size_t k);

  std::shared_ptr<Repo> repo_;
  std::string path_, commit_;
  const CheckReport* report_;
  bool include_excluded_;
  ReadImages read_images_;
  std::vector<ManifestChunk> chunks_;
  std::vector<Row> rows_;
  std::vector<std::optional<exporter::Example>> examples_;  // of rows_; nullopt: blank or bad (whys_)
  std::vector<std::string> whys_;
  std::unordered_map<ObjectId, std::string, ObjectIdHash> bytes_;  // the chunk's images
  size_t k_ = 0, i_ = 0;
  uint64_t line_ = 0, excluded_ = 0, blank_ = 0;
  std::map<std::string, std::optional<FileEntry>> files_;  // image paths looked up in the commit
};

// What ChatImageDataset keeps of a table: for each example with an image at
// index `image`, its line, that image's id (hex) and its label (the text of
// the last assistant message, kura.Example.label's rule; nullopt without
// one, after which reading stops: the data set reports that line).
struct TableItems {
  std::vector<uint64_t> lines;
  std::vector<std::string> ids;
  std::vector<std::optional<std::string>> labels;
  uint64_t without_image = 0;  // examples with no image at that index (or a remote URL)
  uint64_t excluded = 0, blank = 0;
};

// Reads the rest of `cursor`'s table into TableItems. When at least
// `min_chunks` chunks are left and `open_another` is given, the second half
// is read at the same time on another thread, on the handle it opens; the
// result, and which error is raised, are those of reading in line order.
TableItems read_items(TableCursor& cursor, size_t image, size_t min_chunks,
                      const std::function<std::unique_ptr<TableCursor>(std::vector<ManifestChunk>, uint64_t)>&
                          open_another);

}  // namespace kura::python
