#include "repo/merge_rows.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "kura/store.hpp"
#include "util/align.hpp"

namespace kura {

namespace {

using difflib::Match;

// What one side did to the base: per base row, the side row that holds it
// (kept or modified) or -1 (deleted); per base place, the side rows
// inserted before that base row (place base.size(): at the end).
struct SideEdits {
  std::vector<int64_t> at;
  std::vector<std::vector<uint32_t>> inserted_before;
  std::string invalid;
};

std::string body_of(const Store& store, const ObjectId& id) { return decode_row(store.read_object(id), id).body; }

std::optional<std::string> key_of(const std::string& body, const std::string& key) {
  auto value = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  const nlohmann::json::json_pointer pointer(key);
  if (!value.contains(pointer)) return std::nullopt;
  return value.at(pointer).dump();
}

std::vector<std::string> tokens(const std::string& body) {
  std::vector<std::string> out;
  difflib::append_words(body, out);
  std::sort(out.begin(), out.end());
  return out;
}

constexpr size_t kMaxSimilarityPairs = 4096;  // as diff: larger uneven stretches pair in order
constexpr double kMinSimilarity = 0.5;

// Order-keeping pairs (index into rs, index into as) of removed and added
// rows of one stretch.
std::vector<Match> pair_stretch(const std::vector<std::string>& rs, const std::vector<std::string>& as,
                                const std::string& key) {
  std::vector<Match> out;
  if (rs.empty() || as.empty()) return out;
  if (!key.empty()) {
    difflib::Interner<std::string> intern;
    std::vector<uint32_t> sa, sb;
    uint32_t unique = UINT32_MAX;  // rows without the key pair with nothing
    auto symbol = [&](const std::string& body) {
      auto k = key_of(body, key);
      return k ? intern(*k) : unique--;
    };
    for (const auto& b : rs) sa.push_back(symbol(b));
    for (const auto& b : as) sb.push_back(symbol(b));
    return difflib::align(sa, sb);
  }
  if (rs.size() == as.size() || rs.size() * as.size() > kMaxSimilarityPairs) {
    for (uint32_t k = 0; k < std::min(rs.size(), as.size()); ++k) out.push_back({k, k});
    return out;
  }
  std::vector<std::vector<std::string>> fr, fa;
  for (const auto& b : rs) fr.push_back(tokens(b));
  for (const auto& b : as) fa.push_back(tokens(b));
  const size_t n = rs.size(), m = as.size();
  std::vector<std::vector<double>> sim(n, std::vector<double>(m)), best(n + 1, std::vector<double>(m + 1, 0));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < m; ++j) sim[i][j] = difflib::similarity(fr[i], fa[j]);
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      best[i][j] = std::max(best[i - 1][j], best[i][j - 1]);
      if (sim[i - 1][j - 1] >= kMinSimilarity) best[i][j] = std::max(best[i][j], best[i - 1][j - 1] + sim[i - 1][j - 1]);
    }
  for (size_t i = n, j = m; i > 0 && j > 0;) {
    if (best[i][j] == best[i - 1][j]) --i;
    else if (best[i][j] == best[i][j - 1]) --j;
    else --i, --j, out.push_back({uint32_t(i), uint32_t(j)});
  }
  std::reverse(out.begin(), out.end());
  return out;
}

SideEdits edits_of(const Store& store, const std::vector<RowRef>& base, const std::vector<RowRef>& side,
                   const std::string& key, const char* name) {
  SideEdits e;
  e.at.assign(base.size(), -1);
  e.inserted_before.resize(base.size() + 1);
  difflib::Interner<ObjectId, ObjectIdHash> intern;
  std::vector<uint32_t> sa, sb;
  sa.reserve(base.size());
  sb.reserve(side.size());
  for (const auto& r : base) sa.push_back(intern(r.row));
  for (const auto& r : side) sb.push_back(intern(r.row));
  std::vector<Match> matches = difflib::align(sa, sb);
  matches.push_back({uint32_t(base.size()), uint32_t(side.size())});  // sentinel: the end
  uint32_t pa = 0, pb = 0;
  for (const Match& m : matches) {
    if (pa < m.a || pb < m.b) {
      // A stretch: base rows [pa, m.a) removed, side rows [pb, m.b) added.
      std::vector<std::string> rs, as;
      for (uint32_t i = pa; i < m.a; ++i) rs.push_back(body_of(store, base[i].row));
      for (uint32_t j = pb; j < m.b; ++j) {
        as.push_back(body_of(store, side[j].row));
        if (e.invalid.empty() && !nlohmann::json::accept(as.back()))
          e.invalid = std::string(name) + " line " + std::to_string(j + 1) + " is not JSON";
      }
      std::vector<Match> pairs = pair_stretch(rs, as, key);
      pairs.push_back({m.a - pa, m.b - pb});
      uint32_t j = 0;
      for (const Match& p : pairs) {
        const uint32_t anchor = pa + p.a;  // the base row the next insertions precede
        for (; j < p.b; ++j) e.inserted_before[anchor].push_back(pb + j);
        if (pa + p.a < m.a) e.at[pa + p.a] = pb + p.b;
        j = p.b + 1;
      }
    }
    if (m.a < base.size()) e.at[m.a] = m.b;
    pa = m.a + 1;
    pb = m.b + 1;
  }
  return e;
}

LineEnd merge_end(LineEnd base, LineEnd ours, LineEnd theirs) { return ours == base ? theirs : ours; }

const char* end_bytes(LineEnd end) { return end == LineEnd::kCrLf ? "\r\n" : end == LineEnd::kLf ? "\n" : ""; }

}  // namespace

const char* row_conflict_name(RowConflictKind kind) {
  switch (kind) {
    case RowConflictKind::kBothChanged: return "changed on both sides";
    case RowConflictKind::kOursDeleted: return "deleted by ours, changed by theirs";
    case RowConflictKind::kTheirsDeleted: return "changed by ours, deleted by theirs";
  }
  return "conflict";
}

RowMerge merge_rows(const Store& store, const std::vector<RowRef>& base, const std::vector<RowRef>& ours,
                    const std::vector<RowRef>& theirs, const std::string& key) {
  RowMerge out;
  const SideEdits o = edits_of(store, base, ours, key, "ours'");
  const SideEdits t = edits_of(store, base, theirs, key, "theirs'");
  if (!o.invalid.empty() || !t.invalid.empty()) {
    out.invalid = !o.invalid.empty() ? o.invalid : t.invalid;
    return out;
  }
  out.rows.reserve(std::max(ours.size(), theirs.size()) + 16);
  auto emit = [&](const RowRef& r) { out.rows.push_back({r, -1}); };
  std::unordered_map<ObjectId, uint32_t, ObjectIdHash> ours_here;
  for (size_t k = 0; k <= base.size(); ++k) {
    const auto& io = o.inserted_before[k];
    const auto& it = t.inserted_before[k];
    if (!io.empty() || !it.empty()) {
      ours_here.clear();
      for (uint32_t j : io) emit(ours[j]), ++ours_here[ours[j].row], ++out.changes_from_ours;
      for (uint32_t j : it) {
        auto same = ours_here.find(theirs[j].row);
        if (same != ours_here.end() && same->second > 0) {
          --same->second, --out.changes_from_ours, ++out.changes_on_both;  // inserted by both: once
          continue;
        }
        emit(theirs[j]), ++out.changes_from_theirs;
      }
    }
    if (k == base.size()) break;
    const int64_t oi = o.at[k], ti = t.at[k];
    const bool ours_kept = oi >= 0 && ours[oi].row == base[k].row;
    const bool theirs_kept = ti >= 0 && theirs[ti].row == base[k].row;
    const RowRef& b = base[k];
    if (ours_kept && theirs_kept) {
      emit({b.row, merge_end(b.end, ours[oi].end, theirs[ti].end)});
    } else if (oi < 0 && (ti < 0 || theirs_kept)) {
      ++(ti < 0 ? out.changes_on_both : out.changes_from_ours);  // deleted
    } else if (ti < 0 && ours_kept) {
      ++out.changes_from_theirs;
    } else if (ours_kept) {
      emit({theirs[ti].row, merge_end(b.end, ours[oi].end, theirs[ti].end)}), ++out.changes_from_theirs;
    } else if (theirs_kept) {
      emit({ours[oi].row, merge_end(b.end, ours[oi].end, theirs[ti].end)}), ++out.changes_from_ours;
    } else if (oi >= 0 && ti >= 0 && ours[oi].row == theirs[ti].row) {
      emit({ours[oi].row, merge_end(b.end, ours[oi].end, theirs[ti].end)}), ++out.changes_on_both;
    } else {
      RowConflict c;
      c.kind = oi < 0 ? RowConflictKind::kOursDeleted : ti < 0 ? RowConflictKind::kTheirsDeleted
                                                              : RowConflictKind::kBothChanged;
      c.base_line = k + 1;
      c.base = b;
      if (oi >= 0) c.ours_line = oi + 1, c.ours = ours[oi];
      if (ti >= 0) c.theirs_line = ti + 1, c.theirs = theirs[ti];
      out.rows.push_back({{}, int64_t(out.conflicts.size())});
      out.conflicts.push_back(c);
    }
  }
  // A last line without an end that rows now follow would join them.
  LineEnd previous = LineEnd::kLf;
  for (size_t i = 0; i + 1 < out.rows.size(); ++i) {
    MergedRow& r = out.rows[i];
    if (r.conflict >= 0) continue;
    if (r.row.end == LineEnd::kNone) r.row.end = previous;
    previous = r.row.end;
  }
  return out;
}

std::string render_merge(const Store& store, const RowMerge& merge, std::vector<uint64_t>* conflict_lines) {
  std::string out;
  uint64_t line = 1;
  auto row_text = [&](const RowRef& r) { return render_row(store, decode_row(store.read_object(r.row), r.row)); };
  for (const MergedRow& m : merge.rows) {
    if (m.conflict < 0) {
      out += row_text(m.row);
      out += end_bytes(m.row.end);
      ++line;
      continue;
    }
    const RowConflict& c = merge.conflicts[m.conflict];
    if (conflict_lines) conflict_lines->push_back(line);
    const char* nl = c.base.end == LineEnd::kCrLf ? "\r\n" : "\n";
    auto side = [&](const RowRef& r) {
      out += row_text(r);
      out += r.end == LineEnd::kNone ? nl : end_bytes(r.end);
      ++line;
    };
    auto marker = [&](const std::string& text) {
      out += text;
      out += nl;
      ++line;
    };
    marker(c.ours_line ? "<<<<<<< ours: line " + std::to_string(c.ours_line) : "<<<<<<< ours: deleted");
    if (c.ours_line) side(c.ours);
    marker("||||||| base: line " + std::to_string(c.base_line));
    side(c.base);
    marker("=======");
    if (c.theirs_line) side(c.theirs);
    marker(c.theirs_line ? ">>>>>>> theirs: line " + std::to_string(c.theirs_line) : ">>>>>>> theirs: deleted");
  }
  return out;
}

bool is_conflict_marker(std::string_view body) {
  if (!body.empty() && body.back() == '\r') body.remove_suffix(1);
  return body == "=======" || body.rfind("<<<<<<< ", 0) == 0 || body.rfind("||||||| ", 0) == 0 ||
         body.rfind(">>>>>>> ", 0) == 0;
}

}  // namespace kura
