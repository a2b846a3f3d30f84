// The classify recipe's networks and the weights file format. Torch-side
// private header: included only by net.cpp and trainer.cpp.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <set>
#include <string>

#include "train/engine.hpp"

namespace kura::train {

// A classifier: images (N x 3 x S x S, normalised) -> logits (N x classes).
// It is a chain of stages then a head: forward(x) is
// forward_from(stages(), stage(stages() - 1, ... stage(0, x))).
struct Classifier : torch::nn::Module {
  torch::Tensor forward(torch::Tensor x) { return forward_from(0, std::move(x)); }
  // Stages first.. then the head, on what stage first - 1 gave (first 0:
  // the images). A stage whose input needs no gradient and whose
  // parameters are all frozen runs without autograd.
  torch::Tensor forward_from(int first, torch::Tensor x);
  virtual int stages() const = 0;
  virtual torch::Tensor stage(int i, const torch::Tensor& x) = 0;
  // The modules whose parameters stage i uses.
  virtual std::vector<const torch::nn::Module*> stage_modules(int i) const = 0;
  virtual torch::Tensor head(const torch::Tensor& x) = 0;
  // The batch norms (module names) that follow an adapted convolution: an
  // adapter run trains them (affine and running statistics) with the adapters.
  std::set<std::string> tuned_norms;
};

// How many stages from the first have no trained parameter: the frozen
// prefix of an adapter run, whose output for an image is the same every
// epoch (its batch norms in eval mode, no dropout, no augmentation), so the
// trainer may compute it once (docs/train.md, LoRA). 0 without an adapter.
int frozen_stages(const Classifier& model);

// "small": three conv-BN-ReLU blocks (32, 64, 128 channels; 2x2 max pooling
// after the first two), global average pooling, a linear layer.
// "resnet18": torchvision's ResNet-18 layout and tensor names, so a
// TorchScript export of torchvision's model can initialise it.
std::shared_ptr<Classifier> make_model(const Hyper& hyper, int classes);

// The weights file (docs/train.md): "kura-weights 1\n", one JSON line naming
// each tensor (name, dtype, shape) in the model's order, then the raw
// little-endian tensor bytes in that order. Deterministic: the same weights
// give the same bytes.
// An adapter run's file holds only what it trains: the adapters and the head
// ("lora"), or the head ("head").
std::string save_weights(Classifier& model, const std::string& adapter);
// Loads a weights file into `model`; Error(kCorrupt) on a name or shape mismatch.
void load_weights(Classifier& model, const std::string& bytes, const std::string& adapter);
// The network of a run: make_model, then the base (TorchScript bytes, or
// null). Without an adapter the base's fitting tensors are copied
// (load_base_model). With one ("lora", "head") every tensor but the head must
// fit (Error(kInvalidInput) naming the first that does not), the base is
// frozen (requires_grad off), adapters are added to the convolutions that
// hyper.lora_targets names for "lora" (Error(kInvalidInput) for a name
// that matches none) and, with hyper.lora_norms, the batch norm after each
// is trained too (tuned_norms); a line for the log says how many
// parameters are trained. The frozen stages below the first adapter run without autograd.
std::shared_ptr<Classifier> build_model(const Hyper& hyper, int classes, const std::string* base, std::string* log);
// Batch norm layers but tuned_norms to eval mode: a frozen base keeps its
// running statistics.
void freeze_norms(Classifier& model);
// Copies the tensors of a TorchScript file whose names and shapes match;
// returns a line for the log. Error(kInvalidInput) when none match.
std::string load_base_model(Classifier& model, const std::string& torchscript);

}  // namespace kura::train
