// TokenEstimator: the jsonl.too_long estimate for one example at a time,
// from the same cache entries the check engine writes (src/check/engine.cpp).
#include "check/image_rules.hpp"
#include "check/row_check.hpp"
#include "check/rules.hpp"
#include "kura/check.hpp"
#include "kura/store.hpp"

namespace kura {

TokenEstimator::TokenEstimator(Store& store, const Policy& policy)
    : store_(store), policy_(policy), row_key_prefix_("r" + std::to_string(check::kRulesVersion) + policy.hash()) {}

uint64_t TokenEstimator::text_tokens(const ObjectId& row_id, const Row& row) const {
  const std::string key = row_key_prefix_ + std::string(row_id.raw());
  if (auto cached = store_.get(Table::kChecks, key)) {
    try {
      return check::RowResult::from_json(nlohmann::json::from_msgpack(*cached)).text_tokens;
    } catch (const nlohmann::json::exception&) {
      // A damaged cache entry is a miss.
    }
  }
  return check::check_row(store_, row, policy_).text_tokens;
}

uint64_t TokenEstimator::image_tokens(const ObjectId& image, const std::string& detail) const {
  if (detail == "low") return 85;  // no need for the image's size
  bool hit = false;
  return check::image_tokens(check::facts_of(store_, image, policy_, &hit), detail);
}

}  // namespace kura
