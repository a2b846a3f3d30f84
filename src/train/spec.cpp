#include "train/spec.hpp"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "kura/error.hpp"

namespace kura {

namespace train {

const nlohmann::json& classify_defaults() {
  static const nlohmann::json defaults = {
      {"model", "small"},          {"epochs", 10},
      {"batch_size", 32},          {"lr", 0.001},
      {"weight_decay", 0.0},       {"image_size", 32},
      {"train_file", "train.jsonl"}, {"validation_file", "validation.jsonl"},
      {"train_dir", "train"},      {"validation_dir", "validation"},
  };
  return defaults;
}

namespace {

// The fine-tuning settings, present in a spec only for an adapter run (so
// that the specs, and ids, of other runs stay as they were). Measured on
// the digits (docs/train.md): adapters on the last stage only, so that the
// frozen base below runs without autograd (and is computed once), rank 4,
// a small scale (alpha / rank = 0.25) against the higher learning rate
// that the new head needs (kAdapterLr), and the batch norm after each
// adapted convolution trained too (lora_norms: 3.9% of the small network;
// without it LoRA was 8-15 points below full fine-tuning on 300 images).
// A spec without lora_norms (runs before it) reads as false.
const nlohmann::json& adapter_defaults() {
  static const nlohmann::json defaults = {{"adapter", "none"},
                                          {"lora_rank", 4},
                                          {"lora_alpha", 1.0},
                                          {"lora_targets", "last,linear"},
                                          {"lora_norms", true}};
  return defaults;
}

// An adapter run's default learning rate: its head is new and trains from
// random in few steps (at 0.001 a linear probe stays near chance; at 0.05
// LoRA diverged on 1,500 images).
constexpr double kAdapterLr = 0.01;

}  // namespace

nlohmann::json fill_settings(const nlohmann::json& given) {
  nlohmann::json out = classify_defaults();
  if (!given.is_object()) fail(ErrorCode::kInvalidInput, "settings must be a JSON object");
  const std::string adapter = given.contains("adapter") && given["adapter"].is_string() ? given["adapter"].get<std::string>() : "none";
  if (adapter != "none" && adapter != "lora" && adapter != "head")
    fail(ErrorCode::kInvalidInput, "setting adapter must be none, lora or head (a linear probe), not '" + adapter + "'");
  if (adapter != "none") out["adapter"] = adapter, out["lr"] = kAdapterLr;
  if (adapter == "lora")
    for (const char* k : {"lora_rank", "lora_alpha", "lora_targets", "lora_norms"}) out[k] = adapter_defaults()[k];
  for (const auto& [key, value] : given.items()) {
    if (key == "adapter") {
      if (!value.is_string()) fail(ErrorCode::kInvalidInput, "setting adapter must be a string, not " + value.dump());
      continue;
    }
    if (key.rfind("lora_", 0) == 0 && adapter_defaults().contains(key) && adapter != "lora")
      fail(ErrorCode::kInvalidInput, "setting " + key + " is for LoRA runs (--adapter lora)");
    if (!out.contains(key) && !adapter_defaults().contains(key)) {
      std::string known;
      for (const auto& [k, v] : classify_defaults().items()) known += (known.empty() ? "" : ", ") + k;
      fail(ErrorCode::kInvalidInput, "unknown setting '" + key + "' for recipe classify (settings: " + known + ")");
    }
    const nlohmann::json& def = out[key];
    auto bad = [&](const std::string& want) {
      fail(ErrorCode::kInvalidInput, "setting " + key + " must be " + want + ", not " + value.dump());
    };
    if (def.is_boolean()) {
      if (!value.is_boolean()) bad("true or false");
      out[key] = value;
    } else if (def.is_string()) {
      if (!value.is_string() || value.get<std::string>().empty()) bad("a non-empty string");
      out[key] = value;
    } else if (def.is_number_integer()) {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 1'000'000)
        bad("a positive whole number");
      out[key] = value.get<int64_t>();
    } else {
      if (!value.is_number() || value.get<double>() < 0) bad("a number >= 0");
      out[key] = value.get<double>();
    }
  }
  if (adapter == "lora") {
    if (out["lora_rank"].get<int64_t>() > 1024) fail(ErrorCode::kInvalidInput, "setting lora_rank must be at most 1024");
    if (out["lora_alpha"].get<double>() <= 0) fail(ErrorCode::kInvalidInput, "setting lora_alpha must be > 0");
    const std::string targets = out["lora_targets"];
    for (size_t start = 0; start <= targets.size();) {
      const size_t comma = std::min(targets.find(',', start), targets.size());
      const std::string t = targets.substr(start, comma - start);
      // conv, linear or layer names; the network checks the names (build_model).
      if (t.empty() || t.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._") != std::string::npos)
        fail(ErrorCode::kInvalidInput, "setting lora_targets lists conv, linear or layer names (conv3, layer4), "
                                       "comma-separated, not '" + targets + "'");
      start = comma + 1;
    }
  }
  if (out["model"] != "small" && out["model"] != "resnet18")
    fail(ErrorCode::kInvalidInput, "setting model must be small or resnet18, not " + out["model"].dump());
  if (out["image_size"].get<int>() < 8 || out["image_size"].get<int>() > 512)
    fail(ErrorCode::kInvalidInput, "setting image_size must be between 8 and 512");
  if (out["batch_size"].get<int>() < 2) fail(ErrorCode::kInvalidInput, "setting batch_size must be at least 2");
  if (out["lr"].get<double>() <= 0) fail(ErrorCode::kInvalidInput, "setting lr must be > 0");
  return out;
}

Hyper hyper_of(const nlohmann::json& spec) {
  const auto& s = spec.at("settings");
  Hyper h;
  h.model = s.at("model");
  h.epochs = s.at("epochs");
  h.batch_size = s.at("batch_size");
  h.lr = s.at("lr");
  h.weight_decay = s.at("weight_decay");
  h.image_size = s.at("image_size");
  h.seed = spec.at("seed");
  h.threads = spec.at("threads");
  h.world = spec.value("world", 1u);
  h.adapter = s.value("adapter", "none");
  if (h.adapter == "lora") {
    h.lora_rank = s.at("lora_rank");
    h.lora_alpha = s.at("lora_alpha");
    h.lora_targets = s.at("lora_targets");
    h.lora_norms = s.value("lora_norms", false);
  }
  return h;
}

std::string canonical(const nlohmann::json& spec) { return spec.dump(); }

nlohmann::json cpu_settings(CpuPin pin) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : pinned_environment(pin)) j[name] = value;
  if (pin == CpuPin::kNative) j["native"] = cpu_kind();
  return j;
}

void require_environment(const nlohmann::json& spec) {
  for (const auto& [name, value] : run_environment(spec)) {
    const char* set = std::getenv(name.c_str());
    if (!set || value != set)
      fail(ErrorCode::kInvalidInput, "the run needs " + name + "=" + value +
                                         " in the environment before the process starts (it has " +
                                         (set ? std::string(set) : std::string("none")) +
                                         "); the kura command sets it itself");
  }
}

}  // namespace train
}  // namespace kura
