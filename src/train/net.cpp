#include "train/net.hpp"

#include <torch/script.h>
#include <torch/version.h>

#include <cstring>
#include <functional>
#include <map>
#include <sstream>

#include "kura/error.hpp"

namespace kura::train {

namespace {

namespace nn = torch::nn;

// A low-rank adapter of a convolution (docs/train.md, LoRA): a conv of the
// base's kernel, stride and padding into `rank` channels, then a 1x1 conv
// back, zero at the start, scaled by alpha / rank. Its weight change is
// B x A, so it merges into the base's kernel.
struct LoraImpl : nn::Module {
  nn::Conv2d a{nullptr}, b{nullptr};
  double scale = 1;
  LoraImpl(const nn::detail::ConvNdOptions<2>& base, int rank, double alpha) {
    a = register_module("a", nn::Conv2d(nn::Conv2dOptions(base.in_channels(), rank, base.kernel_size())
                                             .stride(base.stride())
                                             .padding(base.padding())
                                             .bias(false)));
    b = register_module("b", nn::Conv2d(nn::Conv2dOptions(rank, base.out_channels(), 1).bias(false)));
    torch::NoGradGuard no_grad;
    b->weight.zero_();
    scale = alpha / rank;
  }
  torch::Tensor forward(const torch::Tensor& x) { return b(a(x)) * scale; }
  // The adapter's change to the base kernel: scale * B x A.
  torch::Tensor delta() {
    return torch::einsum("or,rikl->oikl", {b->weight.squeeze(-1).squeeze(-1), a->weight}) * scale;
  }
};

// A convolution that can take an adapter (child "lora"), keeping the base's
// tensor names (conv1.weight, as torchvision's).
struct AdaptedConvImpl : nn::Conv2dImpl {
  explicit AdaptedConvImpl(const nn::Conv2dOptions& o) : nn::Conv2dImpl(o) {}
  std::shared_ptr<LoraImpl> lora;
  void adapt(int rank, double alpha) { lora = register_module("lora", std::make_shared<LoraImpl>(options, rank, alpha)); }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = nn::Conv2dImpl::forward(x);
    return lora ? y + lora->forward(x) : y;
  }
};
TORCH_MODULE(AdaptedConv);

// True when no parameter of `modules` is trained.
bool frozen(const std::vector<const nn::Module*>& modules) {
  for (const auto* m : modules)
    for (const auto& p : m->parameters())
      if (p.requires_grad()) return false;
  return true;
}

AdaptedConv conv(int in, int out, int k, int stride, int pad) {
  return AdaptedConv(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(false));
}

struct SmallNet : Classifier {
  AdaptedConv conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  nn::Linear fc{nullptr};
  explicit SmallNet(int classes) {
    conv1 = register_module("conv1", conv(3, 32, 3, 1, 1));
    bn1 = register_module("bn1", nn::BatchNorm2d(32));
    conv2 = register_module("conv2", conv(32, 64, 3, 1, 1));
    bn2 = register_module("bn2", nn::BatchNorm2d(64));
    conv3 = register_module("conv3", conv(64, 128, 3, 1, 1));
    bn3 = register_module("bn3", nn::BatchNorm2d(128));
    fc = register_module("fc", nn::Linear(128, classes));
  }
  int stages() const override { return 3; }
  torch::Tensor stage(int i, const torch::Tensor& x) override {
    if (i == 0) return torch::max_pool2d(torch::relu(bn1(conv1(x))), 2);
    if (i == 1) return torch::max_pool2d(torch::relu(bn2(conv2(x))), 2);
    return torch::relu(bn3(conv3(x)));
  }
  std::vector<const nn::Module*> stage_modules(int i) const override {
    if (i == 0) return {conv1.get(), bn1.get()};
    if (i == 1) return {conv2.get(), bn2.get()};
    return {conv3.get(), bn3.get()};
  }
  torch::Tensor head(const torch::Tensor& x) override { return fc(x.mean({2, 3})); }
};

struct BasicBlock : torch::nn::Module {
  AdaptedConv conv1{nullptr}, conv2{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  nn::Sequential downsample{nullptr};
  BasicBlock(int in, int out, int stride) {
    conv1 = register_module("conv1", conv(in, out, 3, stride, 1));
    bn1 = register_module("bn1", nn::BatchNorm2d(out));
    conv2 = register_module("conv2", conv(out, out, 3, 1, 1));
    bn2 = register_module("bn2", nn::BatchNorm2d(out));
    if (stride != 1 || in != out)
      downsample = register_module("downsample", nn::Sequential(conv(in, out, 1, stride, 0), nn::BatchNorm2d(out)));
  }
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor y = bn2(conv2(torch::relu(bn1(conv1(x)))));
    return torch::relu(y + (downsample ? downsample->forward(x) : x));
  }
};

struct ResNet18 : Classifier {
  AdaptedConv conv1{nullptr};
  nn::BatchNorm2d bn1{nullptr};
  std::vector<std::shared_ptr<BasicBlock>> blocks;
  nn::Linear fc{nullptr};
  explicit ResNet18(int classes) {
    conv1 = register_module("conv1", conv(3, 64, 7, 2, 3));
    bn1 = register_module("bn1", nn::BatchNorm2d(64));
    int in = 64;
    const int widths[] = {64, 128, 256, 512};
    for (int layer = 0; layer < 4; ++layer) {
      auto seq = std::make_shared<torch::nn::Module>();
      for (int b = 0; b < 2; ++b) {
        auto block = std::make_shared<BasicBlock>(in, widths[layer], (layer > 0 && b == 0) ? 2 : 1);
        seq->register_module(std::to_string(b), block);
        blocks.push_back(block);
        in = widths[layer];
      }
      register_module("layer" + std::to_string(layer + 1), seq);
    }
    fc = register_module("fc", nn::Linear(512, classes));
  }
  int stages() const override { return 1 + static_cast<int>(blocks.size()); }
  torch::Tensor stage(int i, const torch::Tensor& x) override {
    if (i == 0) return torch::max_pool2d(torch::relu(bn1(conv1(x))), 3, 2, 1);
    return blocks[i - 1]->forward(x);
  }
  std::vector<const nn::Module*> stage_modules(int i) const override {
    if (i == 0) return {conv1.get(), bn1.get()};
    return {blocks[i - 1].get()};
  }
  torch::Tensor head(const torch::Tensor& x) override { return fc(x.mean({2, 3})); }
};

// Parameters then buffers, each in registration order: the file's order.
std::vector<std::pair<std::string, torch::Tensor>> named_tensors(Classifier& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : model.named_parameters(true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers(true)) out.emplace_back(b.key(), b.value());
  return out;
}

// The tensors an adapter run trains (and its weights file holds): the
// adapters and the new head; for a linear probe ("head") the head alone.
bool trained_by_adapter(const Classifier& model, const std::string& name, const std::string& adapter) {
  if (name.rfind("fc.", 0) == 0) return true;
  if (adapter != "lora") return false;
  if (name.find("lora.") != std::string::npos) return true;
  const size_t dot = name.rfind('.');
  return dot != std::string::npos && model.tuned_norms.count(name.substr(0, dot)) > 0;
}

std::vector<std::pair<std::string, torch::Tensor>> saved_tensors(Classifier& model, const std::string& adapter) {
  auto all = named_tensors(model);
  if (adapter == "none") return all;
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& [name, t] : all)
    if (trained_by_adapter(model, name, adapter)) out.emplace_back(name, t);
  return out;
}

const char* network_name(Classifier& model) { return dynamic_cast<SmallNet*>(&model) ? "small" : "resnet18"; }

std::map<std::string, torch::Tensor> torchscript_tensors(const std::string& bytes, const std::string& what) {
  torch::jit::Module file;
  try {
    std::istringstream in(bytes);
    file = torch::jit::load(in);
  } catch (const c10::Error& e) {
    fail(ErrorCode::kInvalidInput, what + " is not a TorchScript file: " + std::string(e.what_without_backtrace()));
  }
  std::map<std::string, torch::Tensor> theirs;
  for (const auto& p : file.named_parameters(true)) theirs[p.name] = p.value;
  for (const auto& b : file.named_buffers(true)) theirs[b.name] = b.value;
  return theirs;
}

// Copies every tensor of the network from `theirs`, but those `skip` names;
// Error(kInvalidInput) naming the first one absent or of another shape.
void copy_all(Classifier& model, const std::map<std::string, torch::Tensor>& theirs, const std::string& what,
              const std::function<bool(const std::string&)>& skip) {
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : named_tensors(model)) {
    if (skip(name)) continue;
    auto it = theirs.find(name);
    if (it == theirs.end())
      fail(ErrorCode::kInvalidInput, what + " does not fit the " + network_name(model) + " network: it has no tensor " + name);
    if (it->second.sizes() != t.sizes() || it->second.scalar_type() != t.scalar_type())
      fail(ErrorCode::kInvalidInput, what + " does not fit the " + network_name(model) + " network: tensor " + name +
                                         " is " + c10::str(it->second.sizes()) + ", the network's " + c10::str(t.sizes()));
    t.copy_(it->second);
  }
}

const char* dtype_name(const torch::Tensor& t) {
  if (t.scalar_type() == torch::kFloat) return "f32";
  if (t.scalar_type() == torch::kLong) return "i64";
  fail(ErrorCode::kInvalidInput, "unexpected tensor type " + std::string(c10::toString(t.scalar_type())));
}

struct ParsedTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::string_view data;
};

std::vector<ParsedTensor> parse_weights(const std::string& bytes) {
  static const std::string kMagic = "kura-weights 1\n";
  if (bytes.compare(0, kMagic.size(), kMagic) != 0) fail(ErrorCode::kCorrupt, "not a kura weights file");
  size_t eol = bytes.find('\n', kMagic.size());
  if (eol == std::string::npos) fail(ErrorCode::kCorrupt, "weights file has no header line");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(kMagic.size(), eol - kMagic.size()));
  } catch (const std::exception& e) {
    fail(ErrorCode::kCorrupt, std::string("weights file header is not JSON: ") + e.what());
  }
  std::vector<ParsedTensor> out;
  size_t at = eol + 1;
  for (const auto& t : header.at("tensors")) {
    ParsedTensor p{t.at("name"), t.at("dtype"), t.at("shape").get<std::vector<int64_t>>(), {}};
    size_t n = 1;
    for (int64_t d : p.shape) n *= static_cast<size_t>(d);
    n *= 4 + 4 * (p.dtype == "i64");
    if (at + n > bytes.size()) fail(ErrorCode::kCorrupt, "weights file is truncated at tensor " + p.name);
    p.data = std::string_view(bytes).substr(at, n);
    at += n;
    out.push_back(std::move(p));
  }
  return out;
}

torch::Tensor to_tensor(const ParsedTensor& p) {
  auto type = p.dtype == "i64" ? torch::kLong : torch::kFloat;
  return torch::from_blob(const_cast<char*>(p.data.data()), p.shape, type).clone();
}

// Adds an adapter to each convolution that lora_targets names: "conv" is
// every one, "last" those of the network's last stage (the small network's
// conv3, ResNet-18's layer4); any other word but "linear" (the head,
// trained anyway) is a layer name or the prefix of one ("conv2",
// "layer3.1.conv2").
void add_adapters(Classifier& model, const Hyper& hyper) {
  std::vector<std::pair<std::string, std::shared_ptr<AdaptedConvImpl>>> convs;
  std::string names;
  for (const auto& m : model.named_modules("", false))
    if (auto c = std::dynamic_pointer_cast<AdaptedConvImpl>(m.value())) {
      convs.emplace_back(m.key(), c);
      names += (names.empty() ? "" : ", ") + m.key();
    }
  std::vector<bool> chosen(convs.size(), false);
  const std::string& targets = hyper.lora_targets;
  for (size_t start = 0; start <= targets.size();) {
    const size_t comma = std::min(targets.find(',', start), targets.size());
    std::string t = targets.substr(start, comma - start);
    start = comma + 1;
    if (t == "linear") continue;
    if (t == "last") t = dynamic_cast<SmallNet*>(&model) ? "conv3" : "layer4";
    bool any = false;
    for (size_t i = 0; i < convs.size(); ++i) {
      const std::string& name = convs[i].first;
      if (t == "conv" || name == t || name.rfind(t + ".", 0) == 0) chosen[i] = true, any = true;
    }
    if (!any)
      fail(ErrorCode::kInvalidInput, "setting lora_targets names '" + t + "', which is no convolution of the " +
                                         network_name(model) + " network (conv for all, last for the last stage's, or one of: " + names + ")");
  }
  for (size_t i = 0; i < convs.size(); ++i) {
    if (!chosen[i]) continue;
    convs[i].second->adapt(hyper.lora_rank, hyper.lora_alpha);
    if (!hyper.lora_norms) continue;
    // The norm after it: conv3 -> bn3, layer4.0.conv1 -> layer4.0.bn1, downsample.0 -> downsample.1.
    std::string norm = convs[i].first;
    const size_t dot = norm.rfind('.') == std::string::npos ? 0 : norm.rfind('.') + 1;
    if (norm.compare(dot, 4, "conv") == 0) norm.replace(dot, 4, "bn");
    else if (norm.compare(dot, std::string::npos, "0") == 0) norm.replace(dot, 1, "1");
    model.tuned_norms.insert(norm);
  }
}

}  // namespace

torch::Tensor Classifier::forward_from(int first, torch::Tensor x) {
  for (int i = first; i < stages(); ++i) {
    if (torch::GradMode::is_enabled() && !x.requires_grad() && frozen(stage_modules(i))) {
      torch::NoGradGuard no_grad;
      x = stage(i, x);
    } else {
      x = stage(i, x);
    }
  }
  return head(x);
}

int frozen_stages(const Classifier& model) {
  int i = 0;
  while (i < model.stages() && frozen(model.stage_modules(i))) ++i;
  return i;
}

std::shared_ptr<Classifier> make_model(const Hyper& hyper, int classes) {
  if (hyper.model == "small") return std::make_shared<SmallNet>(classes);
  if (hyper.model == "resnet18") return std::make_shared<ResNet18>(classes);
  fail(ErrorCode::kInvalidInput, "model must be small or resnet18, not '" + hyper.model + "'");
}

std::string save_weights(Classifier& model, const std::string& adapter) {
  nlohmann::json tensors = nlohmann::json::array();
  std::string data;
  for (auto& [name, t] : saved_tensors(model, adapter)) {
    torch::Tensor c = t.detach().contiguous();
    tensors.push_back({{"name", name}, {"dtype", dtype_name(c)}, {"shape", c.sizes().vec()}});
    data.append(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
  }
  return "kura-weights 1\n" + nlohmann::json{{"tensors", tensors}}.dump() + "\n" + data;
}

void load_weights(Classifier& model, const std::string& bytes, const std::string& adapter) {
  auto parsed = parse_weights(bytes);
  auto mine = saved_tensors(model, adapter);
  if (parsed.size() != mine.size())
    fail(ErrorCode::kCorrupt, "weights file has " + std::to_string(parsed.size()) + " tensors, the network " +
                                  std::to_string(mine.size()));
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < mine.size(); ++i) {
    if (parsed[i].name != mine[i].first || parsed[i].shape != mine[i].second.sizes().vec())
      fail(ErrorCode::kCorrupt, "weights file tensor " + parsed[i].name + " does not fit the network's " + mine[i].first);
    mine[i].second.copy_(to_tensor(parsed[i]));
  }
}

std::string load_base_model(Classifier& model, const std::string& torchscript) {
  torch::jit::Module base;
  try {
    std::istringstream in(torchscript);
    base = torch::jit::load(in);
  } catch (const c10::Error& e) {
    fail(ErrorCode::kInvalidInput, "the base model is not a TorchScript file: " + std::string(e.what_without_backtrace()));
  }
  std::map<std::string, torch::Tensor> theirs;
  for (const auto& p : base.named_parameters(true)) theirs[p.name] = p.value;
  for (const auto& b : base.named_buffers(true)) theirs[b.name] = b.value;
  size_t copied = 0, skipped = 0;
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : named_tensors(model)) {
    auto it = theirs.find(name);
    if (it == theirs.end() || it->second.sizes() != t.sizes() || it->second.scalar_type() != t.scalar_type()) {
      ++skipped;
      continue;
    }
    t.copy_(it->second);
    ++copied;
  }
  if (copied == 0)
    fail(ErrorCode::kInvalidInput, "the base model has no tensor whose name and shape fit the " +
                                       std::string(dynamic_cast<SmallNet*>(&model) ? "small" : "resnet18") + " network");
  return "base model: " + std::to_string(copied) + " tensors loaded, " + std::to_string(skipped) +
         " kept from initialisation (absent or of another shape)";
}

std::string weights_of_model_file(const std::string& bytes, Hyper* hyper, int* classes) {
  const auto theirs = torchscript_tensors(bytes, "the model");
  auto fc = theirs.find("fc.weight");
  if (fc == theirs.end() || fc->second.dim() != 2)
    fail(ErrorCode::kInvalidInput, "the model has no classification head (a 2-D tensor fc.weight, as kura export-model writes)");
  hyper->model = theirs.count("layer4.1.conv2.weight") ? "resnet18" : "small";
  hyper->adapter = "none";
  *classes = static_cast<int>(fc->second.size(0));
  auto model = make_model(*hyper, *classes);
  copy_all(*model, theirs, "the model", [](const std::string&) { return false; });
  return save_weights(*model, "none");
}

std::shared_ptr<Classifier> build_model(const Hyper& hyper, int classes, const std::string* base, std::string* log) {
  auto model = make_model(hyper, classes);
  if (hyper.adapter == "none") {
    if (base) {
      std::string line = load_base_model(*model, *base);
      if (log) *log += line + "\n";
    }
    return model;
  }
  if (!base) fail(ErrorCode::kInvalidInput, "an adapter run needs its base model (--init BASE.pt)");
  // The base is the whole network but its head, which is new (other classes).
  copy_all(*model, torchscript_tensors(*base, "the base model"), "the base model",
           [](const std::string& name) { return name.rfind("fc.", 0) == 0; });
  const size_t base_tensors = named_tensors(*model).size();
  if (hyper.adapter == "lora") add_adapters(*model, hyper);
  size_t trained = 0, all = 0;
  for (auto& p : model->named_parameters(true)) {
    const bool train = trained_by_adapter(*model, p.key(), hyper.adapter);
    p.value().set_requires_grad(train);
    all += static_cast<size_t>(p.value().numel());
    if (train) trained += static_cast<size_t>(p.value().numel());
  }
  if (log)
    *log += "base model: frozen, " + std::to_string(base_tensors) + " tensors (the head new); adapter " + hyper.adapter +
            ": " + std::to_string(trained) + " of " + std::to_string(all) + " parameters trained\n";
  return model;
}

void freeze_norms(Classifier& model) {
  for (auto& m : model.named_modules("", false))
    if (auto bn = std::dynamic_pointer_cast<nn::BatchNorm2dImpl>(m.value()))
      if (!model.tuned_norms.count(m.key())) bn->eval();
}

WeightsComparison compare_weight_files(const std::string& a, const std::string& b) {
  WeightsComparison r;
  auto x = parse_weights(a), y = parse_weights(b);
  if (x.size() != y.size()) {
    r.detail = "the files hold " + std::to_string(x.size()) + " and " + std::to_string(y.size()) + " tensors";
    return r;
  }
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i].name != y[i].name || x[i].shape != y[i].shape || x[i].dtype != y[i].dtype) {
      r.first_difference = x[i].name;
      r.detail = "tensor " + x[i].name + " and " + y[i].name + " differ in name, type or shape";
      return r;
    }
    if (x[i].data == y[i].data) continue;
    torch::Tensor tx = to_tensor(x[i]).to(torch::kDouble), ty = to_tensor(y[i]).to(torch::kDouble);
    r.first_difference = x[i].name;
    r.max_abs_difference = (tx - ty).abs().max().item<double>();
    r.elements_differing = static_cast<uint64_t>(tx.ne(ty).sum().item<int64_t>());
    r.detail = "tensor " + x[i].name + ": " + std::to_string(r.elements_differing) + " of " +
               std::to_string(tx.numel()) + " elements differ";
    return r;
  }
  r.identical = true;
  return r;
}

std::string to_torch_archive(const std::string& weights, const Hyper& hyper, int classes, const std::string* base,
                             Export what) {
  auto model = build_model(hyper, classes, base, nullptr);
  load_weights(*model, weights, hyper.adapter);
  if (hyper.adapter != "none" && what == Export::kAdapter) {
    // The adapter alone: its tensors (and the head) in kura's weights format,
    // the base named by its object id in the run.
    return save_weights(*model, hyper.adapter);
  }
  std::shared_ptr<Classifier> network = model;
  if (hyper.adapter != "none") {
    Hyper plain = hyper;
    plain.adapter = "none";
    network = make_model(plain, classes);
    std::map<std::string, torch::Tensor> merged;
    for (auto& [name, t] : named_tensors(*model)) merged[name] = t.detach();
    torch::NoGradGuard no_grad;
    for (const auto& m : model->named_modules("", false))
      if (auto c = std::dynamic_pointer_cast<AdaptedConvImpl>(m.value()); c && c->lora)
        merged[m.key() + ".weight"] = c->weight.detach() + c->lora->delta();
    copy_all(*network, merged, "the merged model", [](const std::string&) { return false; });
  }
  torch::serialize::OutputArchive archive;
  network->save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

std::string libtorch_version() { return TORCH_VERSION; }

}  // namespace kura::train
