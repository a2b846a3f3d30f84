#include "util/align.hpp"

#include <algorithm>

namespace kura::difflib {

namespace {

struct Aligner {
  const std::vector<uint32_t>& a;
  const std::vector<uint32_t>& b;
  std::vector<Match> out;

  void run(uint32_t alo, uint32_t ahi, uint32_t blo, uint32_t bhi, int depth) {
    while (alo < ahi && blo < bhi && a[alo] == b[blo]) out.push_back({alo++, blo++});
    uint32_t suffix = 0;
    while (alo + suffix < ahi && blo + suffix < bhi && a[ahi - 1 - suffix] == b[bhi - 1 - suffix]) ++suffix;
    ahi -= suffix;
    bhi -= suffix;
    if (alo < ahi && blo < bhi) {
      // Deep recursion only on adversarial input; Myers bounds the rest.
      if (depth > 48 || !patience(alo, ahi, blo, bhi, depth)) myers(alo, ahi, blo, bhi);
    }
    for (uint32_t k = 0; k < suffix; ++k) out.push_back({ahi + k, bhi + k});
  }

  bool patience(uint32_t alo, uint32_t ahi, uint32_t blo, uint32_t bhi, int depth) {
    struct Slot {
      uint32_t na = 0, nb = 0, ia = 0, ib = 0;
    };
    std::unordered_map<uint32_t, Slot> slots;
    slots.reserve(ahi - alo);
    for (uint32_t i = alo; i < ahi; ++i) {
      Slot& s = slots[a[i]];
      ++s.na;
      s.ia = i;
    }
    for (uint32_t j = blo; j < bhi; ++j) {
      auto it = slots.find(b[j]);
      if (it == slots.end()) continue;
      ++it->second.nb;
      it->second.ib = j;
    }
    std::vector<Match> unique;
    for (uint32_t i = alo; i < ahi; ++i) {
      const Slot& s = slots[a[i]];
      if (s.na == 1 && s.nb == 1) unique.push_back({i, s.ib});
    }
    if (unique.empty()) return false;
    // Longest increasing run of b indices (patience sorting), O(k log k).
    std::vector<uint32_t> tails, prev(unique.size(), UINT32_MAX);
    for (uint32_t k = 0; k < unique.size(); ++k) {
      auto pos = std::lower_bound(tails.begin(), tails.end(), unique[k].b,
                                  [&](uint32_t t, uint32_t v) { return unique[t].b < v; });
      if (pos != tails.begin()) prev[k] = *(pos - 1);
      if (pos == tails.end()) tails.push_back(k);
      else *pos = k;
    }
    std::vector<Match> chain;
    for (uint32_t k = tails.back(); k != UINT32_MAX; k = prev[k]) chain.push_back(unique[k]);
    std::reverse(chain.begin(), chain.end());
    uint32_t pa = alo, pb = blo;
    for (const Match& m : chain) {
      run(pa, m.a, pb, m.b, depth + 1);
      out.push_back(m);
      pa = m.a + 1;
      pb = m.b + 1;
    }
    run(pa, ahi, pb, bhi, depth + 1);
    return true;
  }

  // Myers' O(ND) greedy diff, keeping each step's frontier to walk back.
  void myers(uint32_t alo, uint32_t ahi, uint32_t blo, uint32_t bhi) {
    const int n = static_cast<int>(ahi - alo), m = static_cast<int>(bhi - blo);
    const int max_d = std::min(n + m, kMaxEdits);
    const int offset = max_d + 1;
    std::vector<int> v(2 * max_d + 3, 0);
    std::vector<std::vector<int>> trace;
    for (int d = 0; d <= max_d; ++d) {
      trace.push_back(v);
      for (int k = -d; k <= d; k += 2) {
        int x = (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1])) ? v[offset + k + 1]
                                                                               : v[offset + k - 1] + 1;
        int y = x - k;
        while (x < n && y < m && a[alo + x] == b[blo + y]) ++x, ++y;
        v[offset + k] = x;
        if (x >= n && y >= m) return walk_back(trace, offset, d, n, m, alo, blo);
      }
    }
    // Too different: leave the stretch unmatched.
  }

  void walk_back(const std::vector<std::vector<int>>& trace, int offset, int depth, int x, int y, uint32_t alo,
                 uint32_t blo) {
    std::vector<Match> found;
    for (int d = depth; d >= 0; --d) {
      const std::vector<int>& v = trace[d];
      int k = x - y;
      int prev_k = (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1])) ? k + 1 : k - 1;
      int prev_x = v[offset + prev_k], prev_y = prev_x - prev_k;
      while (x > prev_x && y > prev_y) {
        --x, --y;
        found.push_back({alo + x, blo + y});
      }
      if (d > 0) x = prev_x, y = prev_y;
    }
    out.insert(out.end(), found.rbegin(), found.rend());
  }
};

}  // namespace

std::vector<Match> align(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  Aligner aligner{a, b, {}};
  aligner.run(0, static_cast<uint32_t>(a.size()), 0, static_cast<uint32_t>(b.size()), 0);
  return std::move(aligner.out);
}

void append_words(std::string_view text, std::vector<std::string>& out) {
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find_first_of(" \t,:{}[]\"", i);
    if (j == std::string_view::npos) j = text.size();
    if (j > i) out.emplace_back(text.substr(i, j - i));
    i = j + 1;
  }
}

double similarity(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.empty() && b.empty()) return 1;
  size_t common = 0;
  for (size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    if (a[i] == b[j]) ++common, ++i, ++j;
    else if (a[i] < b[j]) ++i;
    else ++j;
  }
  return 2.0 * common / double(a.size() + b.size());
}

}  // namespace kura::difflib
