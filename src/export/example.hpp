// One JSONL row of the commit read as a chat example (the OpenAI messages
// format that the checks judge), with each image resolved to the object
// that holds its bytes: an image the store cut out of the row, a data URI
// kept verbatim, a file of the commit named by path, or a remote URL.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kura/objects.hpp"

namespace kura::exporter {

struct Image {
  ObjectId media;          // the bytes (zero for a remote URL)
  std::string remote_url;  // http(s) image, not in the commit
  std::string file;        // the commit's image file it names, "" for inline
  std::string declared;    // a data URI's subtype ("jpeg"), "" otherwise
  std::string detail;      // "low", "high", "auto" or ""
  std::string pointer;     // JSON pointer of its image_url part
  bool cut = false;        // cut out of the row by the store (not kept verbatim)
  int message = -1;
};

struct Part {
  bool image = false;
  std::string text;  // text parts
  size_t index = 0;  // image parts: into Example::images
};

struct Message {
  std::string role;  // "developer" is read as "system"
  std::vector<Part> parts;
  bool tool_calls = false;  // tool_calls, function_call or a tool role
};

struct Example {
  const Row* row = nullptr;     // the row object it was read from
  nlohmann::ordered_json json;  // the row; cut-out image URLs left empty
  std::vector<Message> messages;
  std::vector<Image> images;  // document order
  std::set<std::string> fields;  // fields present that only openai carries ("detail", "weight", ...)

  // Text of message `m`: its text parts joined by "\n", images as `tag`
  // (none when empty).
  std::string text(size_t m, const std::string& tag = "") const;
};

// Finds the commit's file at a repository path (nullopt: none).
using FileLookup = std::function<std::optional<FileEntry>(const std::string& path)>;

// Reads `row` of table `table` as an example; nullopt with `*why` set when it
// is not one (not JSON, no messages, an image that cannot be resolved).
std::optional<Example> read_example(const Store& store, const Row& row, const std::string& table,
                                    const FileLookup& lookup, std::string* why);

}  // namespace kura::exporter
