// The rule table: every rule id with its default severity per profile, a
// description, and the fix a person should apply. Validators build findings
// through make_finding so the policy and the fix text are applied in one place.
#pragma once

#include <string>

#include "kura/check.hpp"

namespace kura::check {

// Bump when a rule's logic changes: cached row results are keyed by it.
constexpr int kRulesVersion = 2;

// The profiles other than "generic" a rule is on in, as bits.
enum ProfileBits : unsigned {
  kOpenAi = 1,
  kLlava = 2,
  kShareGpt = 4,
  kAxolotl = 8,
  kEveryFormat = kOpenAi | kLlava | kShareGpt | kAxolotl,
};
// The bit of profile `name`; 0 for "generic" or an unknown name.
unsigned profile_bit(const std::string& name);
// Whether `name` is a profile: openai, generic, llava, sharegpt, axolotl.
bool is_profile(const std::string& name);

struct Rule {
  const char* id;
  Severity openai;        // the default severity, in every profile the rule is on in
  bool generic;           // on in the "generic" profile
  const char* what;
  const char* fix;
  unsigned profiles = kEveryFormat;  // the other profiles it is on in
};

const Rule* find_rule(const std::string& id);

// A finding for `rule` at `path`, severity from the policy; nullopt-like
// `off` is signalled by returning false.
bool make_finding(const Policy& policy, const std::string& rule, Finding& out);

extern const Rule kRules[];
extern const size_t kRuleCount;

}  // namespace kura::check
