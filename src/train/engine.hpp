// The torch side of src/train behind a torch-free interface: only net.cpp
// and trainer.cpp include libtorch; everything else (data, specs, records)
// talks to them through these declarations.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kura/train.hpp"

namespace kura::train {

// Hyper-parameters of the classify recipe, from the spec.
struct Hyper {
  std::string model = "small";  // "small" or "resnet18"
  int epochs = 10;
  int batch_size = 32;
  double lr = 1e-3;
  double weight_decay = 0;
  int image_size = 32;
  uint64_t seed = 0;
  unsigned threads = 1;
  unsigned world = 1;  // processes training together (data parallel)
  // Fine-tuning a frozen base (docs/train.md): "none" (every weight
  // trained), "lora" (low-rank adapters and a new head) or "head" (a linear
  // probe: the new head alone).
  std::string adapter = "none";
  int lora_rank = 8;
  double lora_alpha = 16;
  // The layers adapted: "conv" (every convolution), layer names or name
  // prefixes ("conv3", "layer4"), "linear" (the head: trained anyway).
  std::string lora_targets = "conv";
  // Also train the batch norm after each adapted convolution (its affine
  // and running statistics).
  bool lora_norms = false;
};

// Decoded images: count x 3 x size x size bytes (CHW, sRGB), and class indices.
struct Images {
  int size = 0;
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  std::vector<std::string> sources;  // "train.jsonl:12" or the image path, for messages
  size_t count() const { return labels.size(); }
};

struct EngineInput {
  Hyper hyper;
  int classes = 0;
  const Images* train = nullptr;
  const Images* validation = nullptr;
  const std::string* base_model = nullptr;  // TorchScript bytes, or null
  Cluster* cluster = nullptr;               // the other processes when world > 1
};

// trainer.cpp
RunOutcome train_model(const EngineInput& input, const TrainCallbacks& callbacks);
// Class probabilities for each image, with the given weights.
// `base`: the base model's TorchScript bytes for an adapter run, else null.
std::vector<std::vector<float>> classify(const std::string& weights, const Hyper& hyper, int classes,
                                         const Images& images, const std::string* base);

// net.cpp
WeightsComparison compare_weight_files(const std::string& a, const std::string& b);
// A run's weights as a libtorch archive of the whole network. For an
// adapter run, kAdapter gives its weights file (adapters and head, small)
// and kMerged the network with the adapters merged into the base's kernels.
enum class Export { kAdapter, kMerged };
std::string to_torch_archive(const std::string& weights, const Hyper& hyper, int classes, const std::string* base,
                             Export what);
// The weights (kura's format) of a TorchScript file that holds a whole
// network of the classify recipe (as export-model writes it): sets
// hyper->model ("small" or "resnet18", from its tensor names) and *classes
// (the rows of fc.weight). Error(kInvalidInput) for a file that is not
// TorchScript or a tensor the network lacks or has in another shape.
std::string weights_of_model_file(const std::string& bytes, Hyper* hyper, int* classes);
std::string libtorch_version();

}  // namespace kura::train
