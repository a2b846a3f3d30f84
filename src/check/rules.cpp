#include "check/rules.hpp"

#include <cstring>

namespace kura::check {

using S = Severity;

// Keep in step with docs/checks.md.
extern const Rule kRules[];
const Rule kRules[] = {
    {"jsonl.invalid_json", S::kError, true, "a line is not valid JSON",
     "fix the line's syntax (one JSON object per line; no trailing commas; UTF-8)"},
    {"jsonl.not_object", S::kError, true, "a line is JSON but not an object",
     "each line must be one object: {\"messages\": [...]}"},
    {"jsonl.missing_messages", S::kError, false, "an example has no \"messages\" array",
     "put the conversation in a \"messages\" array of {\"role\", \"content\"} objects", kOpenAi},
    {"jsonl.message_missing_key", S::kError, false, "a message lacks \"role\" or \"content\"",
     "give every message a \"role\" and a \"content\"", kOpenAi},
    {"jsonl.unrecognized_role", S::kError, false, "a message has a role other than system, user, assistant, tool, function",
     "use one of: system, user, assistant, tool, function", kOpenAi},
    {"jsonl.unrecognized_key", S::kError, false, "a message has a key the format does not know",
     "remove it; allowed: role, content, name, weight, function_call, tool_calls, tool_call_id, refusal", kOpenAi},
    {"jsonl.missing_content", S::kError, false, "a message's content is empty or null",
     "give the message text or content parts, or remove it", kOpenAi},
    {"jsonl.no_assistant_message", S::kError, false, "an example has no assistant message to learn from",
     "add the answer the model should give as a message with \"role\": \"assistant\"", kOpenAi},
    {"jsonl.invalid_weight", S::kError, false, "\"weight\" is not 0 or 1, or is not on an assistant message",
     "use \"weight\": 0 or 1, and only on assistant messages", kOpenAi},
    {"jsonl.too_few_examples", S::kError, false, "a training file has fewer than 10 examples",
     "add examples: fine-tuning needs at least 10 (50-100 give clear gains)", kOpenAi},
    {"jsonl.too_many_images", S::kError, false, "an example has more than 64 images",
     "split the example, or drop images: at most 64 per example", kOpenAi},
    {"jsonl.too_many_image_examples", S::kError, false, "a file has more than 50,000 examples with images",
     "split the data set: at most 50,000 examples with images per file", kOpenAi},
    {"jsonl.image_outside_user_message", S::kError, false, "an image is in a system or assistant message",
     "move the image into a user message", kOpenAi},
    {"jsonl.bad_content_part", S::kError, false, "a content part has an unknown type, no url, or a bad \"detail\"",
     "use {\"type\": \"text\", \"text\": ...} or {\"type\": \"image_url\", \"image_url\": {\"url\": ..., \"detail\": \"low\"|\"high\"|\"auto\"}}", kOpenAi},
    {"jsonl.too_long", S::kError, false, "an example's estimated tokens exceed the model's limit",
     "shorten the text, use fewer images or \"detail\": \"low\" (the count is an estimate)", kOpenAi},
    {"jsonl.duplicate_example", S::kWarning, true, "the same example appears twice in a file",
     "remove the repeated line: duplicates weigh the example twice"},
    {"image.unsupported_format", S::kError, false, "an image is not JPEG, PNG or WEBP",
     "convert it, e.g. vips copy in.gif out.png"},
    {"image.too_large", S::kError, false, "an image is over 10 MB",
     "shrink or recompress it, e.g. vips thumbnail in.png out.jpg[Q=90] 2048"},
    {"image.bad_color_mode", S::kError, false, "an image is not 8-bit RGB or RGBA (CMYK, grayscale, palette, 16-bit)",
     "convert to sRGB, e.g. vips colourspace in.jpg out.jpg[Q=95] srgb (then vips cast ... uchar for 16-bit)"},
    {"image.corrupt", S::kError, true, "an image does not decode to the end (truncated or damaged)",
     "replace it with an intact copy; re-export it from the source"},
    {"image.mime_mismatch", S::kError, true, "a data URI's declared type differs from the image bytes",
     "declare the real type, e.g. data:image/jpeg;base64,... for JPEG bytes"},
    {"image.bad_base64", S::kError, true, "an inline image is not valid base64",
     "re-encode the image: base64 -w0 image.jpg (no line breaks, with = padding)"},
    {"image.missing_file", S::kError, true, "an image path does not name a file in the data set",
     "add the file, or fix the path (relative to the JSONL file, or to image_root when the policy sets one)"},
    {"image.path_outside", S::kError, true, "an image path leaves the data set folder; it was not read",
     "keep images inside the data set and use paths relative to the JSONL file"},
    {"image.remote_url", S::kInfo, true, "an image is an http(s) URL: not checked offline",
     "inline it as base64, or run kura check --fetch to download and check it"},
    {"image.fetch_failed", S::kError, true, "an image URL could not be downloaded (kura check --fetch)",
     "make the URL publicly reachable over http(s), or inline the image as base64"},
    {"image.exif_rotated", S::kWarning, true, "an image relies on EXIF orientation: trainers that ignore EXIF see it sideways",
     "bake the rotation in, e.g. vips autorot in.jpg out.jpg"},
    {"image.too_small", S::kWarning, true, "an image is smaller than the configured minimum side",
     "use a larger image, or lower min_image_side in kura-checks.json"},
    {"moderation.face", S::kWarning, false, "an image shows a person's face: fine-tuning services skip such images silently",
     "remove or blur the face, or drop the example; set the rule to exclude to keep it out of training"},
    {"dataset.leakage", S::kError, true, "the same image is in both the training and the validation file",
     "remove it from one of the two files: validation must be unseen data"},
    {"image.near_duplicate", S::kInfo, true, "the same picture appears more than once in one file",
     "drop the copies unless the repetition is intended"},
    {"curation.excluded", S::kInfo, true, "an example or image file is excluded by hand (kura-exclusions.jsonl)",
     "nothing to do: it is kept in the data set and left out of training and export; 'kura include' takes it back"},
    {"curation.stale_exclusion", S::kWarning, true, "a hand exclusion names a row that is no longer in its file",
     "the row was changed or removed: exclude the line again with 'kura exclude PATH:LINE', or delete the entry"},
    {"curation.bad_exclusion", S::kError, true, "a line of kura-exclusions.jsonl is not a valid exclusion",
     "fix the line: {\"path\": \"train.jsonl\", \"line\": 12, \"row\": \"<row id>\", \"reason\": \"...\"} (kura exclude writes them)"},
    {"llava.missing_conversations", S::kError, false, "an example has no \"conversations\" array",
     "put the dialogue in \"conversations\": [{\"from\": \"human\", \"value\": \"<image>\\n...\"}, {\"from\": \"gpt\", \"value\": \"...\"}]", kLlava},
    {"llava.bad_turn", S::kError, false, "a turn is not an object with a \"from\" of human, gpt or system and a \"value\" string",
     "give every turn {\"from\": \"human\"|\"gpt\"|\"system\", \"value\": \"...\"}", kLlava},
    {"llava.bad_role_order", S::kError, false, "turns do not alternate human, gpt (after an optional system turn), or do not end with gpt",
     "order the turns human, gpt, human, gpt, ... and end with the gpt answer", kLlava},
    {"llava.bad_image_field", S::kError, false, "\"image\" is not a path or a list of paths",
     "set \"image\" to the image's path (or a list of paths), or remove it for a text-only example", kLlava},
    {"llava.image_token_mismatch", S::kError, false, "the number of <image> tokens differs from the number of images",
     "put one <image> token in the human turns for each image (LLaVA ignores an image without one)", kLlava},
    {"sharegpt.missing_conversations", S::kError, false, "an example has no \"conversations\" (or \"messages\") array",
     "put the dialogue in \"conversations\": [{\"from\": \"human\", \"value\": \"...\"}, {\"from\": \"gpt\", \"value\": \"...\"}]", kShareGpt},
    {"sharegpt.bad_turn", S::kError, false, "a turn is not an object with a known role and a string content",
     "use {\"from\": \"human\"|\"gpt\"|\"system\"|\"observation\"|\"function_call\", \"value\": \"...\"} (role/content and user/assistant in \"messages\")", kShareGpt},
    {"sharegpt.bad_role_order", S::kError, false, "turns do not alternate user, assistant after an optional system turn, or do not end with the assistant",
     "order the turns user (or observation), assistant (or function_call), ... after one optional system turn, and end with the assistant: LLaMA-Factory drops the example otherwise", kShareGpt},
    {"sharegpt.bad_image_field", S::kError, false, "\"images\" is not a list of paths",
     "set \"images\" to a list of image paths, one per <image> token", kShareGpt},
    {"sharegpt.image_token_mismatch", S::kError, false, "the number of <image> tokens differs from the number of images",
     "put one <image> token in the turns for each entry of \"images\" (LLaMA-Factory stops with an error otherwise)", kShareGpt},
    {"axolotl.missing_messages", S::kError, false, "an example has no \"messages\" array",
     "put the dialogue in \"messages\": [{\"role\": \"user\", \"content\": [...]}, {\"role\": \"assistant\", \"content\": \"...\"}]", kAxolotl},
    {"axolotl.bad_message", S::kError, false, "a message is not an object with a known role and a string or list content",
     "give every message a \"role\" (system, user, assistant, tool) and a \"content\" string or list of parts", kAxolotl},
    {"axolotl.bad_content_part", S::kError, false, "a content part has an unknown type, a text part no text, or an image part no path, url or base64",
     "use {\"type\": \"text\", \"text\": ...} or {\"type\": \"image\", \"path\"|\"url\"|\"base64\": ...}", kAxolotl},
    {"axolotl.no_assistant_message", S::kError, false, "an example has no assistant message to learn from",
     "add the answer the model should give as a message with \"role\": \"assistant\"", kAxolotl},
    {"hook.finding", S::kError, true, "a finding reported by .kura/hooks/pre-commit", "see the hook's message"},
};
const size_t kRuleCount = sizeof kRules / sizeof kRules[0];

unsigned profile_bit(const std::string& name) {
  if (name == "openai") return kOpenAi;
  if (name == "llava") return kLlava;
  if (name == "sharegpt") return kShareGpt;
  if (name == "axolotl") return kAxolotl;
  return 0;
}

bool is_profile(const std::string& name) { return name == "generic" || profile_bit(name) != 0; }

const Rule* find_rule(const std::string& id) {
  for (size_t i = 0; i < kRuleCount; ++i)
    if (id == kRules[i].id) return &kRules[i];
  return nullptr;
}

bool make_finding(const Policy& policy, const std::string& rule, Finding& out) {
  const Rule* r = find_rule(rule);
  RuleAction action = policy.action(rule);
  if (action == RuleAction::kOff) return false;
  out.rule = rule;
  if (r && out.fix.empty()) out.fix = r->fix;
  switch (action) {
    case RuleAction::kError: out.severity = Severity::kError; break;
    case RuleAction::kWarn: out.severity = Severity::kWarning; break;
    case RuleAction::kExclude:
      out.severity = Severity::kWarning;
      out.excluded = true;
      break;
    default: out.severity = r ? r->openai : Severity::kError; break;
  }
  return true;
}

}  // namespace kura::check

namespace kura {

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kInfo: return "info";
  }
  return "error";
}

const std::vector<RuleInfo>& all_rules() {
  static const std::vector<RuleInfo> list = [] {
    std::vector<RuleInfo> out;
    for (size_t i = 0; i < check::kRuleCount; ++i)
      out.push_back({check::kRules[i].id, check::kRules[i].openai, check::kRules[i].what});
    return out;
  }();
  return list;
}

}  // namespace kura
