// Large folders: more than kFanoutThreshold entries are stored as bucket
// trees (src/repo/fanout.hpp), invisible to every reader.
#include <catch2/catch.hpp>

#include "fixture.hpp"
#include "util/fanout.hpp"
#include "repo/git.hpp"

#include <map>

using namespace kura;
using namespace kura::test;

namespace {

// Every git tree the store holds: id -> stored bytes.
std::map<std::string, std::string> trees(Store& store) {
  std::map<std::string, std::string> out;
  store.scan(Table::kGit, "", [&](std::string_view key, std::string_view value) {
    if (!value.empty() && static_cast<uint8_t>(value[0]) == GIT_OBJECT_TREE) out.emplace(key, value);
    return true;
  });
  return out;
}

}  // namespace

TEST_CASE("a folder of 3,000 files commits as bucket trees and reads back as one folder", "[repo][fanout]") {
  RepoFixture f;
  const size_t n = kFanoutThreshold + 952;
  for (size_t i = 0; i < n; ++i) f.write("frames/f" + std::to_string(i) + ".txt", "frame " + std::to_string(i) + "\n");
  f.write("frames/sub/inner.txt", "a subfolder among the files\n");
  f.write("readme.txt", "top\n");
  f.add_all();
  CommitInfo c1 = f.commit("v1");

  // Some tree holds buckets; readers never see them.
  size_t fanout_trees = 0;
  for (const auto& [id, bytes] : trees(f.repo->store()))
    if (bytes.find("40000 .kura-fanout.") != std::string::npos) ++fanout_trees;
  REQUIRE(fanout_trees == 1);
  std::vector<FileEntry> files = f.repo->ls_files(c1.id);
  REQUIRE(files.size() == n + 2);
  for (const auto& e : files) REQUIRE(e.path.find(".kura-fanout") == std::string::npos);
  REQUIRE(f.show(c1.id, "frames/f2999.txt") == "frame 2999\n");
  REQUIRE(f.show(c1.id, "frames/sub/inner.txt") == "a subfolder among the files\n");
  REQUIRE_FALSE(f.repo->file_at(c1.id, "frames/f99999.txt"));
  REQUIRE(f.repo->status().clean());

  // A one-file change writes a handful of trees, not one per bucket.
  const auto before = trees(f.repo->store());
  f.write("frames/f1234.txt", "changed\n");
  f.add_all();
  CommitInfo c2 = f.commit("v2");
  size_t new_trees = 0, new_bytes = 0;
  for (const auto& [id, bytes] : trees(f.repo->store()))
    if (!before.count(id)) ++new_trees, new_bytes += bytes.size();
  REQUIRE(new_trees == 3);  // the bucket, frames/ (256 buckets), the root
  REQUIRE(new_bytes < 20000);  // one flat tree of frames/ alone would be about 120 kB
  REQUIRE(f.repo->changes(c1.id, c2.id).size() == 1);
  REQUIRE(f.repo->changes(c1.id, c2.id)[0].path == "frames/f1234.txt");

  // Checkout of the old commit restores the old bytes; fsck walks buckets.
  f.repo->checkout(c1.id, {});
  REQUIRE(f.read("frames/f1234.txt") == "frame 1234\n");
  REQUIRE(f.repo->fsck().ok());
  // Below the threshold again: an ordinary tree, same reading.
  for (size_t i = 100; i < n; ++i) fs::remove(f / ("frames/f" + std::to_string(i) + ".txt"));
  f.repo->switch_branch("main", false, true);
  for (size_t i = 100; i < n; ++i) fs::remove(f / ("frames/f" + std::to_string(i) + ".txt"));
  f.add_all();
  CommitInfo c3 = f.commit("v3");
  REQUIRE(f.repo->ls_files(c3.id).size() == 102);
  REQUIRE(f.show(c3.id, "frames/f42.txt") == "frame 42\n");
}

TEST_CASE("names kura reserves for buckets are skipped by add, saying why", "[repo][fanout]") {
  RepoFixture f;
  f.write("data/.kura-fanout.00/x.txt", "x\n");
  f.write("data/ok.txt", "ok\n");
  AddResult r = f.add_all();
  REQUIRE(r.files_added == 1);
  REQUIRE(r.skipped.size() == 1);
  REQUIRE(r.skipped[0].find(".kura-fanout.") != std::string::npos);
}
