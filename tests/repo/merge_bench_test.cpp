// The row-level merge alone, timed (bench/merge.sh runs it; hidden from the
// default run by the "[.]" tag): two versions of a 200,000-row vision JSONL
// with 1% of the rows changed on each side (relabels, deletions, insertions;
// disjoint rows), merged by merge_rows and stored by store_table_rows, and
// byte-checked against the expected file. KURA_BENCH_ROWS sets the rows.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <random>
#include <set>

#include "kura/objects.hpp"
#include "kura/store.hpp"
#include "repo/merge_rows.hpp"
#include "support.hpp"

using namespace kura;
using namespace kura::test;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("bench: row-level merge of two 200,000-row versions with 1% changed rows on each side", "[.][merge-bench]") {
  const char* env = std::getenv("KURA_BENCH_ROWS");
  const size_t rows = env ? std::stoul(env) : 200000;
  const std::vector<std::string> images = {base64(data_file("fish.jpg")), base64(data_file("linux.jpg")),
                                           base64(data_file("windows.jpg"))};
  auto row = [&](const std::string& id, size_t i, const std::string& label) {
    std::string content = R"([{"type":"text","text":"What is shown in example )" + std::to_string(i) + R"(?"}])";
    if (i % 10 == 0)
      content.insert(content.size() - 1, R"(,{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,)" +
                                             images[i % images.size()] + R"("}})");
    return R"({"id":")" + id + R"(","messages":[{"role":"user","content":)" + content +
           R"(},{"role":"assistant","content":")" + label + "\"}]}\n";
  };
  std::mt19937 rng(15);
  std::set<size_t> changed;
  while (changed.size() < rows / 50) changed.insert((rng() % (rows / 4 - 1)) * 4 + 1);  // never adjacent
  std::map<size_t, std::pair<int, int>> edit;  // row -> (side 0 ours / 1 theirs, kind 0 delete 1 insert 2+ relabel)
  int k = 0;
  for (size_t i : changed) edit[i] = {k % 2, (k / 2) % 5}, ++k;
  std::string base, ours, theirs, expected;
  for (size_t i = 0; i < rows; ++i) {
    const std::string r = row(std::to_string(i), i, "label " + std::to_string(i % 17));
    base += r;
    auto e = edit.find(i);
    if (e == edit.end()) {
      ours += r, theirs += r, expected += r;
      continue;
    }
    const auto [side, kind] = e->second;
    const std::string name = side ? "theirs" : "ours";
    std::string mine = kind == 0 ? "" : kind == 1 ? row(name + std::to_string(i), i, "new") + r
                                                  : row(std::to_string(i), i, "relabelled by " + name);
    (side ? theirs : ours) += mine;
    (side ? ours : theirs) += r;
    expected += mine;
  }
  TempDir dir;
  auto store = Store::open(dir / "store", true);
  const TableInfo b = store_table(*store, base), o = store_table(*store, ours), t = store_table(*store, theirs);
  store->sync_tables();

  const auto start = std::chrono::steady_clock::now();
  const auto rb = read_manifest(*store, b.manifest), ro = read_manifest(*store, o.manifest),
             rt = read_manifest(*store, t.manifest);
  const double read_s = seconds_since(start);
  const auto merge_start = std::chrono::steady_clock::now();
  const RowMerge m = merge_rows(*store, rb, ro, rt, "");
  const double merge_s = seconds_since(merge_start);
  REQUIRE(m.invalid.empty());
  REQUIRE(m.conflicts.empty());
  std::vector<RowRef> merged;
  for (const auto& r : m.rows) merged.push_back(r.row);
  const auto store_start = std::chrono::steady_clock::now();
  const TableInfo result = store_table_rows(*store, merged);
  const double store_s = seconds_since(store_start);
  const double total = seconds_since(start);
  if (result.file_sha != sha256(expected)) {
    const std::string got = render_merge(*store, m);
    size_t at = 0;
    while (at < got.size() && at < expected.size() && got[at] == expected[at]) ++at;
    INFO("first difference at byte " << at << " of " << got.size() << "/" << expected.size() << ": got '"
         << got.substr(at > 80 ? at - 80 : 0, 200) << "' expected '" << expected.substr(at > 80 ? at - 80 : 0, 200) << "'");
    REQUIRE(got == expected);
  }
  const RowMerge keyed = merge_rows(*store, rb, ro, rt, "/id");
  REQUIRE(keyed.conflicts.empty());
  std::printf("merge-bench: %zu rows (%.0f MB per version), %zu changed rows per side: read manifests %.3f s, "
              "merge_rows %.3f s, store the result (manifest + SHA-256 of its bytes) %.3f s, total %.3f s (target < 2 s)\n",
              rows, base.size() / 1e6, changed.size() / 2, read_s, merge_s, store_s, total);
}
