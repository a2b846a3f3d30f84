// Run specs: the classify recipe's settings with their defaults, the
// canonical JSON form that names a run, and the CPU environment it pins.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "train/engine.hpp"

namespace kura::train {

// Every setting of the classify recipe with its default (docs/train.md).
const nlohmann::json& classify_defaults();
// `given` over the defaults; Error(kInvalidInput) naming an unknown setting
// or a value of the wrong type or range.
nlohmann::json fill_settings(const nlohmann::json& given);
// The spec's training settings as the engine takes them.
Hyper hyper_of(const nlohmann::json& spec);
// Sorted keys, no spaces: the bytes a run id hashes.
std::string canonical(const nlohmann::json& spec);
// The spec's "cpu" object: the environment pinned for `pin` and, for
// CpuPin::kNative, "native": cpu_kind(), the CPU the run's bits belong to.
nlohmann::json cpu_settings(CpuPin pin);
// Error(kInvalidInput) when this process's environment differs from the
// spec's, or the spec is a native run of another kind of CPU (run_environment).
void require_environment(const nlohmann::json& spec);

}  // namespace kura::train
