// Aligning two row manifests: chunks first (shared chunks are skipped
// unread), then the rows of each stretch of differing chunks, then moves,
// then pairing removed and added rows into modified ones (by hunk or by key).
#include "diff/table_diff.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <deque>
#include <unordered_map>

#include "diff/align.hpp"
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
    // A removed and an added row in the same hunk: the i-th of each is one row modified.
    size_t k = 0;
    for (auto& r : removed) {
      if (r.paired) continue;
      while (k < added.size() && (added[k].paired || added[k].hunk < r.hunk)) ++k;
      if (k < added.size() && added[k].hunk == r.hunk) push(RowChange::Kind::kModified, &r, &added[k]);
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
