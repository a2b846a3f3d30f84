// Which findings of a FindingList a ReportFilter shows, for the readers
// that walk a large report (its JSON form, the per-rule summary).
#pragma once

#include <cstdint>
#include <vector>

#include "kura/check.hpp"

namespace kura::check {

// Matches each distinct rule and path of `list` against `filter` once, so a
// million findings cost a million look-ups, not a million glob matches.
// Holds references: `list` and `filter` must outlive it.
class ShownFindings {
 public:
  ShownFindings(const FindingList& list, const ReportFilter& filter);
  bool operator()(size_t i) const;

 private:
  bool matches(std::vector<int8_t>& memo, uint32_t k, bool rule) const;
  const FindingList& list_;
  const ReportFilter& filter_;
  mutable std::vector<int8_t> rule_memo_, path_memo_;  // by string index: -1 unknown, 0 no, 1 yes
};

}  // namespace kura::check
