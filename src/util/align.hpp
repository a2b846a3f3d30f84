// Sequence alignment (std only): which elements of two sequences of symbols
// (interned row ids, words) are kept, in order, by both. Used by diff (rows,
// words) and by the repository layer's row-level merge, so it sits in util.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kura::difflib {

struct Match {
  uint32_t a, b;  // indices into the two sequences
};

// A common subsequence of `a` and `b` as index pairs increasing in both:
// the common prefix and suffix, then patience anchors (symbols occurring once
// on each side, longest increasing run) recursively between them; where no
// symbol is unique, a Myers diff of at most kMaxEdits edits, beyond which
// the stretch is left unmatched (all removed and added).
std::vector<Match> align(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b);

inline constexpr int kMaxEdits = 1000;

// Appends the words of `text` to `out`: the runs between spaces, tabs and
// JSON punctuation (,:{}[]"). Sorted, they are a bag for similarity().
void append_words(std::string_view text, std::vector<std::string>& out);

// How alike two sorted bags of strings are: 2 x the strings they share over
// their total size (Dice's coefficient), 1 for two empty bags.
double similarity(const std::vector<std::string>& a, const std::vector<std::string>& b);

// Dense symbols for values compared by equality (row ids, words).
template <class T, class Hash = std::hash<T>>
class Interner {
 public:
  uint32_t operator()(const T& value) {
    auto [it, fresh] = ids_.try_emplace(value, static_cast<uint32_t>(ids_.size()));
    return it->second;
  }

 private:
  std::unordered_map<T, uint32_t, Hash> ids_;
};

}  // namespace kura::difflib
