// The check policy (kura-checks.json, .kura/checks.json over it): the profile,
// per-rule actions and the limits.
#include <fstream>
#include <sstream>

#include "check/row_check.hpp"
#include "check/rules.hpp"
#include "kura/error.hpp"
#include "kura/object_id.hpp"

namespace kura {

namespace {

const char* action_name(RuleAction a) {
  switch (a) {
    case RuleAction::kError: return "error";
    case RuleAction::kWarn: return "warn";
    case RuleAction::kOff: return "off";
    case RuleAction::kExclude: return "exclude";
    default: return "default";
  }
}

}  // namespace

std::optional<std::string> normal_image_root(const std::string& dir) {
  if (dir.empty()) return std::string();
  return check::resolve_path("", dir);
}

Policy Policy::load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return Policy{};
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), file.string(), Policy{});
}

Policy Policy::parse(std::string_view text, const std::string& name, Policy base) {
  Policy p = std::move(base);
  const std::string& file = name;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kInvalidInput, file + ": not valid JSON (" + e.what() + ")");
  }
  auto bad = [&](const std::string& key, const std::string& why) {
    fail(ErrorCode::kInvalidInput, file + ": \"" + key + "\" " + why);
  };
  if (!j.is_object()) bad("(top level)", "must be an object");
  for (auto& [key, value] : j.items()) {
    try {
      if (key == "profile") {
        p.profile = value.get<std::string>();
        if (!check::is_profile(p.profile)) bad(key, "must be \"openai\", \"generic\", \"llava\", \"sharegpt\" or \"axolotl\"");
      } else if (key == "rules") {
        if (!value.is_object()) bad(key, "must map rule ids to error|warn|off|exclude");
        for (auto& [rule, action] : value.items()) {
          if (!check::find_rule(rule)) bad("rules." + rule, "is not a rule (see docs/checks.md)");
          if (rule == "curation.excluded")
            bad("rules." + rule, std::string("cannot be set: take an example back with 'kura include', which edits ") +
                                     kExclusionsFile);
          std::string a = action.get<std::string>();
          RuleAction ra = a == "error" ? RuleAction::kError
                          : a == "warn" ? RuleAction::kWarn
                          : a == "off" ? RuleAction::kOff
                          : a == "exclude" ? RuleAction::kExclude
                                           : RuleAction::kDefault;
          if (ra == RuleAction::kDefault) bad("rules." + rule, "must be error, warn, off or exclude");
          p.rules[rule] = ra;
        }
      } else if (key == "max_image_bytes") p.max_image_bytes = value.get<uint64_t>();
      else if (key == "max_pixels") p.max_pixels = value.get<uint64_t>();
      else if (key == "min_image_side") p.min_image_side = value.get<int>();
      else if (key == "max_images_per_example") p.max_images_per_example = value.get<int>();
      else if (key == "max_image_examples") p.max_image_examples = value.get<uint64_t>();
      else if (key == "min_examples") p.min_examples = value.get<uint64_t>();
      else if (key == "max_tokens") p.max_tokens = value.get<uint64_t>();
      else if (key == "detect_faces") p.detect_faces = value.get<bool>();
      else if (key == "min_face_px") p.min_face_px = value.get<int>();
      else if (key == "near_duplicate_distance") p.near_duplicate_distance = value.get<int>();
      else if (key == "train_file") p.train_file = value.get<std::string>();
      else if (key == "validation_file") p.validation_file = value.get<std::string>();
      else if (key == "image_root") {
        if (value.is_null()) p.image_root.reset();
        else if (auto root = normal_image_root(value.get<std::string>())) p.image_root = *root;
        else bad(key, "must be a folder inside the data set, relative to its top (no leading '/', no '..' out of it)");
      }
      else bad(key, "is not a setting (see docs/checks.md)");
    } catch (const nlohmann::json::exception& e) {
      bad(key, std::string("has the wrong type (") + e.what() + ")");
    }
  }
  p.sources.push_back(name);
  return p;
}

nlohmann::json Policy::to_json() const {
  nlohmann::json rules_json = nlohmann::json::object();
  for (const auto& [rule, action] : rules) rules_json[rule] = action_name(action);
  return {{"profile", profile},
          {"rules", rules_json},
          {"max_image_bytes", max_image_bytes},
          {"max_pixels", max_pixels},
          {"min_image_side", min_image_side},
          {"max_images_per_example", max_images_per_example},
          {"max_image_examples", max_image_examples},
          {"min_examples", min_examples},
          {"max_tokens", max_tokens},
          {"detect_faces", detect_faces},
          {"min_face_px", min_face_px},
          {"near_duplicate_distance", near_duplicate_distance},
          {"train_file", train_file},
          {"validation_file", validation_file},
          {"image_root", image_root ? nlohmann::json(*image_root) : nlohmann::json()}};
}

std::string Policy::hash() const {
  return sha256(to_json().dump() + "/rules-" + std::to_string(check::kRulesVersion)).hex().substr(0, 16);
}

RuleAction Policy::action(const std::string& rule) const {
  auto it = rules.find(rule);
  if (it != rules.end()) return it->second;
  if (rule == "image.too_small" && min_image_side <= 0) return RuleAction::kOff;
  if (rule == "moderation.face" && !detect_faces) return RuleAction::kOff;
  const check::Rule* r = check::find_rule(rule);
  if (r && (profile == "generic" ? !r->generic : !(r->profiles & check::profile_bit(profile)))) return RuleAction::kOff;
  return RuleAction::kDefault;
}

}  // namespace kura
