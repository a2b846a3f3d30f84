// FindingList: a report's findings with every distinct string kept once.
#include <algorithm>
#include <numeric>
#include <tuple>

#include "kura/check.hpp"

namespace kura {

FindingList::FindingList() { intern(""); }

FindingList::FindingList(const FindingList& other) : strings_(other.strings_), records_(other.records_) {
  // The index holds views of this list's own strings, not the other's.
  index_.reserve(strings_.size());
  for (uint32_t k = 0; k < strings_.size(); ++k) index_.emplace(strings_[k], k);
}

FindingList& FindingList::operator=(const FindingList& other) {
  if (this != &other) *this = FindingList(other);
  return *this;
}

uint32_t FindingList::intern(std::string_view s) {
  auto it = index_.find(s);
  if (it != index_.end()) return it->second;
  const auto k = static_cast<uint32_t>(strings_.size());
  strings_.emplace_back(s);
  index_.emplace(strings_.back(), k);
  return k;
}

void FindingList::push_back(const Finding& f) {
  Record r;
  r.rule = intern(f.rule);
  r.path = intern(f.path);
  r.object = intern(f.object);
  r.message = intern(f.message);
  r.fix = intern(f.fix);
  r.line = f.line;
  r.message_index = f.message_index;
  r.content_index = f.content_index;
  r.severity = f.severity;
  r.excluded = f.excluded;
  records_.push_back(r);
}

Finding FindingList::operator[](size_t i) const {
  const Record& r = records_[i];
  Finding f;
  f.rule = strings_[r.rule];
  f.severity = r.severity;
  f.path = strings_[r.path];
  f.line = r.line;
  f.message_index = r.message_index;
  f.content_index = r.content_index;
  f.object = strings_[r.object];
  f.message = strings_[r.message];
  f.fix = strings_[r.fix];
  f.excluded = r.excluded;
  return f;
}

void FindingList::sort() {
  // Strings compared once each: rank them, then sort records by ranks.
  std::vector<uint32_t> order(strings_.size()), rank(strings_.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return strings_[a] < strings_[b]; });
  for (uint32_t i = 0; i < order.size(); ++i) rank[order[i]] = i;
  std::stable_sort(records_.begin(), records_.end(), [&](const Record& x, const Record& y) {
    return std::tie(rank[x.path], x.line, x.message_index, x.content_index, rank[x.rule]) <
           std::tie(rank[y.path], y.line, y.message_index, y.content_index, rank[y.rule]);
  });
}

}  // namespace kura
