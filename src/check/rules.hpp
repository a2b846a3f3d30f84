// The rule table: every rule id with its default severity per profile, a
// description, and the fix a person should apply. Validators build findings
// through make_finding so the policy and the fix text are applied in one place.
#pragma once

#include <string>

#include "kura/check.hpp"

namespace kura::check {

// Bump when a rule's logic changes: cached row results are keyed by it.
constexpr int kRulesVersion = 1;

struct Rule {
  const char* id;
  Severity openai;        // default in the "openai" profile
  bool generic;           // also on in the "generic" profile (same severity)
  const char* what;
  const char* fix;
};

const Rule* find_rule(const std::string& id);

// A finding for `rule` at `path`, severity from the policy; nullopt-like
// `off` is signalled by returning false.
bool make_finding(const Policy& policy, const std::string& rule, Finding& out);

extern const Rule kRules[];
extern const size_t kRuleCount;

}  // namespace kura::check
