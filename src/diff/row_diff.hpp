// Inside a row: the JSON view of a row (images as "[image/TYPE sha256:HEX]",
// never base64), value-by-value comparison of two rows, and word diffs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kura/diff.hpp"
#include "kura/objects.hpp"

namespace kura::difflib {

struct RowView {
  std::string text;               // the line, images replaced
  bool json = false;              // text parses as JSON
  nlohmann::json value;           // when json
  std::vector<ObjectId> images;   // the row's stored images, in order
};

// The view of a stored row. Inline base64 kept in the row (not canonical, so
// not cut out at add) is shown as "[image/TYPE, N base64 characters]".
RowView view_row(const Row& row);

// Fills change.changes with what differs between two views of a row.
void compare_rows(const RowView& old_row, const RowView& new_row, RowChange& change);

// The image an "[image/TYPE sha256:HEX]" string names, if it is one.
std::optional<ObjectId> image_in(const nlohmann::json& value);

// A word diff of two texts (words, spaces and punctuation are tokens).
std::vector<TextSpan> word_diff(std::string_view old_text, std::string_view new_text);

}  // namespace kura::difflib
