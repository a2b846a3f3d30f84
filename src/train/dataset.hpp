// Reads a commit's training data: examples (image bytes and label) from the
// JSONL files or the labelled folders the spec names, in file order, minus
// what the check report excludes; then decodes them through the image module
// (decode_pixels, kura/image_facts.hpp).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "kura/check.hpp"
#include "kura/repo.hpp"
#include "train/engine.hpp"

namespace kura::train {

struct Example {
  std::string source;  // "train.jsonl:12" or "train/cat/1.jpg", for messages
  std::string image;   // file bytes
  std::string label;
};

struct Split {
  std::vector<Example> train, validation;
  std::string kind;  // "jsonl" or "folders"
  uint64_t excluded = 0;
};

// `data` is the spec's data settings (train_file, validation_file,
// train_dir, validation_dir). Error(kInvalidInput) naming the file, line and
// field for bad data; when the commit has no training data at all, says
// what was looked for.
Split load_examples(const Repo& repo, const std::string& commit, const nlohmann::json& data, const CheckReport* report);

// One set of examples for evaluation: the JSONL table `file` when the commit
// has it, else the images of `dir`/<label>/. Adds what the checks exclude to
// *excluded. Error(kInvalidInput) when the commit has neither.
std::vector<Example> load_set(const Repo& repo, const std::string& commit, const std::string& file,
                              const std::string& dir, const CheckReport* report, uint64_t* excluded);

// The version of the pixels decode_examples gives: 2 since they come from
// the image module's decode_pixels, resampled as Pillow's bilinear resize
// (1 was libvips' own resize). Eval records carry it, and a record made from
// other pixels is computed again rather than reused.
constexpr int kPixelsVersion = 2;

// Decodes `examples` to size x size sRGB on `threads` threads, in order.
// `labels` gives the class index of each label; an example whose label is not
// among them is skipped and counted in *unknown. Error(kInvalidInput) naming
// the first example (in order) whose image does not decode.
Images decode_examples(const std::vector<Example>& examples, int size, unsigned threads,
                       const std::vector<std::string>& labels, uint64_t* unknown);
// Decodes loose image files (for predict); `names` are used in messages.
Images decode_files(const std::vector<std::string>& files, const std::vector<std::string>& names, int size);

}  // namespace kura::train
