// The trainer formats: each turns examples into its own files through an
// Output, or says why an example cannot be expressed in it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "export/example.hpp"
#include "export/output.hpp"

namespace kura::exporter {

struct FormatStats {
  uint64_t mime_mismatches = 0;   // a data URI whose type differs from its bytes
  uint64_t duplicate_images = 0;  // the same image again under the same label (classes)
  uint64_t remote_images = 0;     // http(s) images kept as URLs (openai)
};

class Format {
 public:
  virtual ~Format() = default;
  virtual void begin(const std::string& split) = 0;
  // Writes example `id` ("train.jsonl:12"), or returns why the format
  // cannot express it (nothing written then).
  virtual std::optional<std::string> add(const Example& ex, const std::string& id) = 0;
  virtual void end() = 0;
  // True when add() would write `ex` as its committed line (body, images
  // re-inlined, "\n") and nothing else.
  virtual bool as_committed(const Example& ex) {
    (void)ex;
    return false;
  }
  // The file add() writes to between begin() and end(), when there is one.
  virtual const Output::File* file() const { return nullptr; }
  // Files about the whole export (LLaMA-Factory's dataset_info.json).
  virtual void finish(const std::vector<std::string>& splits) { (void)splits; }
};

// `format` is an ExportFormat name other than "files"; `inline_images`
// only for openai.
std::unique_ptr<Format> make_format(const std::string& format, Output& out, bool inline_images, FormatStats& stats);

}  // namespace kura::exporter
