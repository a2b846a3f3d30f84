// Aligning two row manifests: chunks first (shared chunks are skipped
// unread), then the rows of each stretch of differing chunks, then moves,
// then pairing removed and added rows into modified ones (by hunk or by key).
#include "diff/table_diff.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <unordered_map>

#include "util/align.hpp"
#include "diff/row_diff.hpp"
#include "kura/error.hpp"
#include "kura/store.hpp"

namespace kura::difflib {

namespace {

struct Side {
  uint64_t line;     // 1-based
  ObjectId row;
  uint64_t anchor;   // new-side line this row sits before (removed rows' place)
  uint32_t hunk;
  bool paired = false;
};

std::vector<ManifestChunk> chunks_of(const Store& store, const std::optional<ObjectId>& manifest) {
  return manifest ? read_manifest_chunks(store, *manifest) : std::vector<ManifestChunk>{};
}

// The rows of chunks [lo, hi) with their 1-based line numbers.
std::vector<std::pair<uint64_t, RowRef>> rows_of(const Store& store, const std::vector<ManifestChunk>& chunks,
                                                 const std::vector<uint64_t>& first_line, size_t lo, size_t hi) {
  std::vector<std::pair<uint64_t, RowRef>> out;
  for (size_t c = lo; c < hi; ++c) {
    auto rows = read_chunk(store, chunks[c]);
    for (size_t i = 0; i < rows.size(); ++i) out.push_back({first_line[c] + i, rows[i]});
  }
  return out;
}

std::vector<uint64_t> first_lines(const std::vector<ManifestChunk>& chunks) {
  std::vector<uint64_t> out;
  uint64_t line = 1;
  for (const auto& c : chunks) {
    out.push_back(line);
    line += c.rows;
  }
  out.push_back(line);
  return out;
}

// Hunks with more removed x added rows than this pair in order, unread.
constexpr size_t kMaxSimilarityPairs = 4096;
// Below this similarity (of the leaves not shared by the whole hunk) two rows
// are an addition and a removal, not a change.
constexpr double kMinSimilarity = 0.5;

void leaves(const nlohmann::json& v, const std::string& pointer, std::vector<std::string>& out) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) leaves(it.value(), pointer + "/" + it.key(), out);
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) leaves(v[i], pointer + "/" + std::to_string(i), out);
  } else {
    out.push_back(pointer + "=" + v.dump());
  }
}

// A row as the sorted multiset of its JSON leaves (pointer=value), or of its
// words when it is not JSON.
std::vector<std::string> fingerprint(const Store& store, const ObjectId& id) {
  RowView view = view_row(decode_row(store.read_object(id), id));
  std::vector<std::string> out;
  if (view.json) {
    leaves(view.value, "", out);
  } else {
    difflib::append_words(view.text, out);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The order-keeping pairing of removed and added rows with the largest total
// similarity, pairs below kMinSimilarity left out (a weighted LCS).
std::vector<std::pair<size_t, size_t>> pair_by_similarity(const Store& store, const std::vector<Side*>& rs,
                                                          const std::vector<Side*>& as) {
  std::vector<std::vector<std::string>> fr, fa;
  for (const Side* r : rs) fr.push_back(fingerprint(store, r->row));
  for (const Side* a : as) fa.push_back(fingerprint(store, a->row));
  // What every row of the hunk has (roles, part types, a shared system
  // prompt) says nothing about which rows belong together: leave it out.
  std::unordered_map<std::string, size_t> rows_with;
  for (const auto* side : {&fr, &fa})
    for (const auto& f : *side)
      for (size_t k = 0; k < f.size(); ++k)
        if (k == 0 || f[k] != f[k - 1]) ++rows_with[f[k]];
  const size_t everyone = fr.size() + fa.size();
  for (auto* side : {&fr, &fa})
    for (auto& f : *side) f.erase(std::remove_if(f.begin(), f.end(), [&](const std::string& leaf) { return rows_with[leaf] == everyone; }), f.end());
  const size_t n = rs.size(), m = as.size();
  std::vector<std::vector<double>> sim(n, std::vector<double>(m)), best(n + 1, std::vector<double>(m + 1, 0));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < m; ++j) sim[i][j] = similarity(fr[i], fa[j]);
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      best[i][j] = std::max(best[i - 1][j], best[i][j - 1]);
      if (sim[i - 1][j - 1] >= kMinSimilarity) best[i][j] = std::max(best[i][j], best[i - 1][j - 1] + sim[i - 1][j - 1]);
    }
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = n, j = m; i > 0 && j > 0;) {
    if (best[i][j] == best[i - 1][j]) --i;
    else if (best[i][j] == best[i][j - 1]) --j;
    else out.push_back({--i, --j});
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace

std::optional<std::string> row_key(const std::string& body, const std::string& key) {
  auto value = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  try {
    const auto& found = value.at(nlohmann::json::json_pointer(key));
    return found.dump();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

TableDiff diff_table(const Store& store, const std::optional<ObjectId>& old_manifest,
                     const std::optional<ObjectId>& new_manifest, const std::string& key) {
  TableDiff out;
  TableStat& stat = out.stat;
  const auto ca = chunks_of(store, old_manifest), cb = chunks_of(store, new_manifest);
  const auto la = first_lines(ca), lb = first_lines(cb);
  stat.old_rows = la.back() - 1;
  stat.new_rows = lb.back() - 1;

  std::vector<Match> chunk_matches;
  {
    Interner<ObjectId, ObjectIdHash> intern;
    std::vector<uint32_t> sa, sb;
    for (const auto& c : ca) sa.push_back(intern(c.id));
    for (const auto& c : cb) sb.push_back(intern(c.id));
    chunk_matches = align(sa, sb);
  }
  stat.chunks_skipped = chunk_matches.size();

  std::vector<Side> removed, added;
  uint32_t hunk = 0;
  auto compare_stretch = [&](size_t a_lo, size_t a_hi, size_t b_lo, size_t b_hi) {
    if (a_lo == a_hi && b_lo == b_hi) return;
    auto ra = rows_of(store, ca, la, a_lo, a_hi), rb = rows_of(store, cb, lb, b_lo, b_hi);
    stat.rows_read += ra.size() + rb.size();
    Interner<ObjectId, ObjectIdHash> intern;
    std::vector<uint32_t> sa, sb;
    for (const auto& r : ra) sa.push_back(intern(r.second.row));
    for (const auto& r : rb) sb.push_back(intern(r.second.row));
    auto matches = align(sa, sb);
    matches.push_back({static_cast<uint32_t>(ra.size()), static_cast<uint32_t>(rb.size())});  // sentinel
    size_t i = 0, j = 0;
    ++hunk;
    for (const Match& m : matches) {
      const uint64_t anchor = m.b < rb.size() ? rb[m.b].first : lb[b_hi];
      for (; i < m.a; ++i) removed.push_back({ra[i].first, ra[i].second.row, anchor, hunk});
      for (; j < m.b; ++j) added.push_back({rb[j].first, rb[j].second.row, rb[j].first, hunk});
      if (m.a < ra.size()) {
        if (ra[m.a].second.end != rb[m.b].second.end) ++stat.line_ends_changed;
        ++hunk;
        i = m.a + 1;
        j = m.b + 1;
      }
    }
  };
  size_t pa = 0, pb = 0;
  for (const Match& m : chunk_matches) {
    compare_stretch(pa, m.a, pb, m.b);
    pa = m.a + 1;
    pb = m.b + 1;
  }
  compare_stretch(pa, ca.size(), pb, cb.size());

  auto push = [&](RowChange::Kind kind, Side* a, Side* b, std::string k = {}) {
    RowChange c;
    c.kind = kind;
    if (a) c.old_line = a->line, c.old_row = a->row, a->paired = true;
    if (b) c.new_line = b->line, c.new_row = b->row, b->paired = true;
    c.key = std::move(k);
    out.rows.push_back(std::move(c));
  };

  // The same row removed in one place and added in another: a move.
  {
    std::unordered_map<ObjectId, std::deque<size_t>, ObjectIdHash> by_row;
    for (size_t k = 0; k < added.size(); ++k) by_row[added[k].row].push_back(k);
    for (auto& r : removed) {
      auto it = by_row.find(r.row);
      if (it == by_row.end() || it->second.empty()) continue;
      push(RowChange::Kind::kMoved, &r, &added[it->second.front()]);
      it->second.pop_front();
    }
  }

  if (key.empty()) {
    // Removed and added rows of one hunk are paired as modified rows: in
    // order when the counts agree, else by similarity (order kept).
    std::map<uint32_t, std::pair<std::vector<Side*>, std::vector<Side*>>> hunks;
    for (auto& r : removed)
      if (!r.paired) hunks[r.hunk].first.push_back(&r);
    for (auto& a : added)
      if (!a.paired) hunks[a.hunk].second.push_back(&a);
    for (auto& [h, sides] : hunks) {
      auto& [rs, as] = sides;
      if (rs.empty() || as.empty()) continue;
      if (rs.size() == as.size() || rs.size() * as.size() > kMaxSimilarityPairs) {
        for (size_t k = 0; k < std::min(rs.size(), as.size()); ++k) push(RowChange::Kind::kModified, rs[k], as[k]);
        continue;
      }
      for (const auto& [x, y] : pair_by_similarity(store, rs, as)) push(RowChange::Kind::kModified, rs[x], as[y]);
    }
  } else {
    auto key_of = [&](const Side& s) {
      auto bytes = store.read_object(s.row);
      auto k = row_key(decode_row(bytes, s.row).body, key);
      if (!k) ++stat.rows_without_key;
      return k;
    };
    std::unordered_map<std::string, std::deque<size_t>> by_key;
    for (size_t k = 0; k < added.size(); ++k)
      if (!added[k].paired)
        if (auto v = key_of(added[k])) by_key[*v].push_back(k);
    for (auto& r : removed) {
      if (r.paired) continue;
      auto v = key_of(r);
      if (!v) continue;
      auto it = by_key.find(*v);
      if (it == by_key.end() || it->second.empty()) continue;
      push(RowChange::Kind::kModified, &r, &added[it->second.front()], *v);
      it->second.pop_front();
    }
  }
  for (auto& r : removed)
    if (!r.paired) push(RowChange::Kind::kRemoved, &r, nullptr);
  for (auto& a : added)
    if (!a.paired) push(RowChange::Kind::kAdded, nullptr, &a);

  // Images referenced by the changed rows (moves change nothing).
  std::unordered_map<ObjectId, int64_t, ObjectIdHash> balance;
  for (const auto& c : out.rows) {
    if (c.kind == RowChange::Kind::kMoved) continue;
    if (!c.old_row.is_zero())
      for (const auto& im : decode_row(store.read_object(c.old_row), c.old_row).images) --balance[im.media];
    if (!c.new_row.is_zero())
      for (const auto& im : decode_row(store.read_object(c.new_row), c.new_row).images) ++balance[im.media];
  }
  for (const auto& [id, n] : balance) (n > 0 ? stat.images_added : stat.images_removed) += std::abs(n);

  for (const auto& c : out.rows) {
    switch (c.kind) {
      case RowChange::Kind::kAdded: ++stat.added; break;
      case RowChange::Kind::kRemoved: ++stat.removed; break;
      case RowChange::Kind::kModified: ++stat.modified; break;
      case RowChange::Kind::kMoved: ++stat.moved; break;
    }
  }
  // New-line order; a removed row sits before the new line it preceded.
  std::unordered_map<uint64_t, uint64_t> anchor_of;
  for (const auto& r : removed) anchor_of[r.line] = r.anchor;
  auto place = [&](const RowChange& c) {
    if (c.new_line) return std::pair<uint64_t, int>(c.new_line, 1);
    return std::pair<uint64_t, int>(anchor_of[c.old_line], 0);
  };
  std::stable_sort(out.rows.begin(), out.rows.end(), [&](const RowChange& x, const RowChange& y) {
    auto px = place(x), py = place(y);
    if (px != py) return px < py;
    return x.old_line < y.old_line;
  });
  return out;
}

}  // namespace kura::difflib
