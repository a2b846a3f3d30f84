// fsck finds damage and names who is hurt; gc drops only what nothing uses.
#include <catch2/catch.hpp>

#include "fixture.hpp"

using namespace kura;
using namespace kura::test;

namespace {

// Flips one byte of `needle` where it is stored in the store's files.
bool flip_on_disk(const fs::path& store_dir, const std::string& needle) {
  for (const auto& entry : fs::directory_iterator(store_dir)) {
    if (!entry.is_regular_file()) continue;
    std::string bytes = read_file(entry.path());
    size_t at = bytes.find(needle);
    if (at == std::string::npos) continue;
    bytes[at + needle.size() / 2] ^= 0x20;
    write_file(entry.path(), bytes);
    return true;
  }
  return false;
}

}  // namespace

TEST_CASE("fsck of a healthy repository finds nothing", "[repo][fsck]") {
  RepoFixture f;
  f.write("a.jpg", data_file("fish.jpg"));
  f.write("train.jsonl", vision_example(data_file("linux.jpg"), "logo") + "\n");
  f.add_all();
  f.commit("first");
  FsckReport r = f.repo->fsck();
  REQUIRE(r.ok());
  REQUIRE(r.commits == 1);
  REQUIRE(r.objects_checked == f.object_count());
}

TEST_CASE("fsck names a corrupted object and the files that use it", "[repo][fsck]") {
  RepoFixture f;
  const std::string png = data_file("pic1.png");
  f.write("photos/pic.png", png);
  f.write("copy/pic.png", png);
  f.write("train.jsonl", R"({"note":"no image"})" "\n" +
                             std::string(R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,)") +
                             base64(png) + R"("}}]}]})" + "\n");
  f.add_all();
  f.commit("first");
  f.close();
  REQUIRE(flip_on_disk(f / ".kura/store", png.substr(4000, 64)));
  f.reopen();
  FsckReport r = f.repo->fsck();
  REQUIRE_FALSE(r.ok());
  for (const auto& p : r.problems) UNSCOPED_INFO(p.table << " " << p.object << ": " << p.message);
  REQUIRE(r.problems.size() == 1);
  const FsckProblem& p = r.problems[0];
  REQUIRE(p.object == sha256(png).hex());
  REQUIRE(p.kind == "corrupt");
  auto uses = [&](const std::string& suffix) {
    for (const auto& u : p.used_by)
      if (u.size() >= suffix.size() && u.compare(u.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
    return false;
  };
  REQUIRE(uses(":photos/pic.png"));
  REQUIRE(uses(":copy/pic.png"));
  REQUIRE(uses(":train.jsonl line 2"));
  REQUIRE(uses("index:photos/pic.png"));
  // Reading the damaged file fails loudly instead of returning wrong bytes.
  REQUIRE_THROWS(f.show("HEAD", "photos/pic.png"));
}

TEST_CASE("gc removes unreachable objects past the grace period and keeps the rest", "[repo][gc]") {
  RepoFixture f;
  f.write("a.jpg", data_file("fish.jpg"));
  f.add_all();
  f.commit("first");
  f.write("a.jpg", data_file("linux.jpg"));
  f.add_all();                             // fish stays reachable from the first commit
  f.write("a.jpg", data_file("windows.jpg"));
  f.add_all();                             // linux is now staged by no one
  const size_t before = f.object_count();
  GcReport keep = f.repo->gc({});           // default grace: two weeks
  REQUIRE(keep.objects_removed == 0);
  REQUIRE(keep.unreachable_kept_recent == 1);
  GcOptions now;
  now.keep_recent = std::chrono::seconds(0);
  GcReport r = f.repo->gc(now);
  REQUIRE(r.objects_removed == 1);
  REQUIRE(f.object_count() == before - 1);
  REQUIRE_FALSE(f.repo->store().has_object(sha256(data_file("linux.jpg"))));
  REQUIRE(f.repo->store().has_object(sha256(data_file("fish.jpg"))));
  REQUIRE(f.repo->fsck().ok());
  f.commit("second");
  REQUIRE(f.show("HEAD~1", "a.jpg") == data_file("fish.jpg"));
  REQUIRE(f.show("HEAD", "a.jpg") == data_file("windows.jpg"));
}
