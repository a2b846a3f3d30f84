// Checks one JSONL row against the chat fine-tuning format, and finds the
// images it uses. Pure per row, so its result is cached by row object id.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kura/check.hpp"
#include "kura/objects.hpp"

namespace kura::check {

struct ImageUse {
  enum Kind { kInline = 0, kPath = 1, kRemote = 2 };
  Kind kind = kInline;
  int message_index = -1, content_index = -1;
  std::string media;     // hex id of the image bytes (kInline)
  std::string ref;       // the path or URL as written (kPath, kRemote)
  std::string declared;  // the data URI's subtype: "png", "jpeg", ...
  std::string detail;    // "low", "high", "auto" or ""
  std::string field;     // where the row names it ("images[1]"), for messages; "" in OpenAI rows
};

struct RowResult {
  bool is_example = false;       // an object with a messages array
  std::vector<Finding> findings; // without path and line
  std::vector<ImageUse> images;
  uint64_t text_tokens = 0;      // estimated, images not included

  nlohmann::json to_json() const;
  static RowResult from_json(const nlohmann::json& j);
};

// `store` receives the bytes of inline images that were kept in the row
// (non-canonical base64 that still decodes), so they can be inspected.
// The row is read in the format of policy.profile; under "generic", in the
// format its keys suggest (row_format).
RowResult check_row(Store& store, const Row& row, const Policy& policy);

// The row formats the checks read.
enum class RowFormat { kOpenAi, kLlava, kShareGpt, kAxolotl };
// The format a row (a JSON object) is read in under `profile`: that of the
// profile, or for "generic" the one its keys suggest: "images" (ShareGPT),
// "image" with "conversations" (LLaVA), "conversations" (ShareGPT),
// "messages" with a {"type": "image"} part (Axolotl), else OpenAI.
RowFormat row_format(const std::string& profile, const nlohmann::ordered_json& example);
// Checks `example` (the parsed `row`, an object) as a LLaVA, ShareGPT or
// Axolotl example (src/check/formats.cpp).
RowResult check_format_row(RowFormat format, Store& store, const Row& row, const nlohmann::ordered_json& example,
                           const Policy& policy);

// Where the store cut images out of `row` (parsed as `example`): the JSON
// pointer of each string an image came from ("/messages/1/content/0/
// image_url/url") to its index in row.images. Shared with export.
std::map<std::string, size_t> cut_images(const nlohmann::ordered_json& example, const Row& row);
// Lenient decode of an inline payload kept verbatim: whitespace and
// JSON-escaped line breaks dropped, missing padding accepted; nullopt when
// it is not base64.
std::optional<std::string> lenient_base64(std::string_view payload);
// Repository path of image `ref` written in a table in folder `dir`
// ("a/b/../c.jpg"), or nullopt when it leaves the data set (or enters .kura/).
std::optional<std::string> resolve_path(const std::string& dir, const std::string& ref);

// Findings (de)serialisation shared with the report.
nlohmann::json finding_to_json(const Finding& f);
Finding finding_from_json(const nlohmann::json& j);

}  // namespace kura::check
