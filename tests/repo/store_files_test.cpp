// add, status, commit: what gets stored, and how often files are read.
#include <catch2/catch.hpp>

#include "fixture.hpp"
#include "kura/error.hpp"

using namespace kura;
using namespace kura::test;

TEST_CASE("add stores an image used under three paths and inside two JSONL rows once", "[repo]") {
  RepoFixture f;
  const std::string fish = data_file("fish.jpg");
  f.write("a.jpg", fish);
  f.write("b/a.jpg", fish);
  f.write("c/d/fish-copy.jpg", fish);
  f.write("train.jsonl", vision_example(fish, "fish") + "\n" + vision_example(fish, "a fish") + "\n");
  AddResult r = f.add_all();
  REQUIRE(r.files_added == 4);
  REQUIRE(r.rows == 2);
  REQUIRE(r.images == 2);
  auto files = f.repo->ls_files("");
  REQUIRE(files.size() == 4);
  const ObjectId manifest = files.back().pointer.object;
  const size_t chunks = manifest_chunks(f.repo->store(), manifest).size();
  // one media object, two rows, the chunks and the manifest: nothing else
  REQUIRE(f.object_count() == 1 + 2 + chunks + 1);
  REQUIRE(f.repo->store().has_object(sha256(fish)));
}

TEST_CASE("a second add of unchanged files hashes nothing", "[repo]") {
  RepoFixture f;
  f.write("img/fish.jpg", data_file("fish.jpg"));
  f.write("img/linux.jpg", data_file("linux.jpg"));
  f.write("train.jsonl", vision_example(data_file("windows.jpg"), "windows") + "\n");
  REQUIRE(f.add_all().files_hashed == 3);
  AddResult again = f.add_all();
  REQUIRE(again.files_hashed == 0);
  REQUIRE(again.files_unchanged == 3);
  REQUIRE(again.objects_written == 0);
  // Same size, different bytes: only that file is read again.
  std::string changed = data_file("linux.jpg");
  changed[100] ^= 1;
  f.write("img/linux.jpg", changed);
  AddResult third = f.add_all();
  REQUIRE(third.files_hashed == 1);
  REQUIRE(third.files_added == 1);
}

TEST_CASE("status tells staged, unstaged and untracked apart", "[repo]") {
  RepoFixture f;
  f.write("a.jpg", data_file("fish.jpg"));
  f.write("b.png", data_file("pic1.png"));
  f.add_all();
  f.commit("first");
  f.write("a.jpg", data_file("linux.jpg"));  // modified, not staged
  f.write("c.webp", data_file("blox.webp"));  // untracked
  fs::remove(f / "b.png");                   // deleted, not staged
  let_clock_tick();
  StatusReport s = f.repo->status();
  REQUIRE(s.branch == "main");
  REQUIRE(s.staged.empty());
  REQUIRE(s.unstaged.size() == 2);
  REQUIRE(s.unstaged[0].path == "a.jpg");
  REQUIRE(s.unstaged[0].change == Change::kModified);
  REQUIRE(s.unstaged[1].path == "b.png");
  REQUIRE(s.unstaged[1].change == Change::kDeleted);
  REQUIRE(s.untracked == std::vector<std::string>{"c.webp"});
  f.add_all();
  s = f.repo->status();
  REQUIRE(s.staged.size() == 3);
  REQUIRE(s.unstaged.empty());
  REQUIRE(s.untracked.empty());
}

TEST_CASE("commit refuses when nothing changed and records history", "[repo]") {
  RepoFixture f;
  REQUIRE(f.repo->log("HEAD", 0).empty());
  f.write("a.jpg", data_file("fish.jpg"));
  f.add_all();
  CommitInfo c1 = f.commit("first");
  try {
    f.commit("again");
    FAIL("commit of an unchanged index succeeded");
  } catch (const Error& e) {
    REQUIRE(e.code() == ErrorCode::kNothingToDo);
  }
  f.write("b.jpg", data_file("linux.jpg"));
  f.add_all();
  CommitInfo c2 = f.commit("second");
  auto log = f.repo->log("HEAD", 0);
  REQUIRE(log.size() == 2);
  REQUIRE(log[0].id == c2.id);
  REQUIRE(log[1].id == c1.id);
  REQUIRE(c2.parents == std::vector<std::string>{c1.id});
  REQUIRE(f.repo->resolve("HEAD~1").id == c1.id);
  REQUIRE(f.repo->resolve(c1.id.substr(0, 8)).id == c1.id);
  REQUIRE(f.repo->changes(c1.id, c2.id).size() == 1);
  REQUIRE_THROWS_AS(f.repo->resolve("no-such-branch"), Error);
}

TEST_CASE("a file replaced by a folder, and a folder by a file, commit cleanly", "[repo]") {
  RepoFixture f;
  f.write("data", data_file("fish.jpg"));
  f.write("set/x.jpg", data_file("linux.jpg"));
  f.add_all();
  f.commit("first");
  fs::remove(f / "data");
  f.write("data/inner.jpg", data_file("fish.jpg"));
  fs::remove_all(f / "set");
  f.write("set", "now a file");
  f.add_all();
  f.commit("swap");
  auto files = f.repo->ls_files("HEAD");
  REQUIRE(files.size() == 2);
  REQUIRE(files[0].path == "data/inner.jpg");
  REQUIRE(files[1].path == "set");
}

TEST_CASE("add names a missing path, and refuses paths outside the repository", "[repo]") {
  RepoFixture f;
  REQUIRE_THROWS_WITH(f.repo->add({(f / "nope.jpg").string()}), Catch::Contains("nope.jpg"));
  REQUIRE_THROWS_WITH(f.repo->add({"/etc/hostname"}), Catch::Contains("outside the repository"));
  REQUIRE_THROWS_WITH(f.repo->add({(f / ".kura/store").string()}), Catch::Contains(".kura"));
}

TEST_CASE("symlinks are stored as links and never followed out of the folder", "[repo]") {
  RepoFixture f;
  f.write("real.jpg", data_file("fish.jpg"));
  fs::create_symlink("real.jpg", f / "alias.jpg");
  fs::create_directory_symlink("/etc", f / "etc-link");
  f.add_all();
  auto files = f.repo->ls_files("");
  REQUIRE(files.size() == 3);
  REQUIRE(files[0].path == "alias.jpg");
  REQUIRE(files[0].pointer.kind == FileKind::kLink);
  REQUIRE(files[1].path == "etc-link");
  REQUIRE(files[1].pointer.kind == FileKind::kLink);
  REQUIRE_THROWS_WITH(f.repo->add({(f / "etc-link/hostname").string()}), Catch::Contains("symlink"));
  f.commit("links");
  fs::remove(f / "alias.jpg");
  fs::remove(f / "etc-link");
  CheckoutOptions o;
  o.force = true;
  f.repo->checkout("HEAD", o);
  REQUIRE(fs::is_symlink(f / "alias.jpg"));
  REQUIRE(fs::read_symlink(f / "alias.jpg") == "real.jpg");
  REQUIRE(fs::read_symlink(f / "etc-link") == "/etc");
}

TEST_CASE("rm untracks and deletes, and keeps the file with cached", "[repo]") {
  RepoFixture f;
  f.write("a.jpg", data_file("fish.jpg"));
  f.write("b.jpg", data_file("linux.jpg"));
  f.add_all();
  REQUIRE(f.repo->remove({(f / "a.jpg").string()}, false) == 1);
  REQUIRE_FALSE(fs::exists(f / "a.jpg"));
  REQUIRE(f.repo->remove({(f / "b.jpg").string()}, true) == 1);
  REQUIRE(fs::exists(f / "b.jpg"));
  REQUIRE(f.repo->ls_files("").empty());
}

TEST_CASE("add skips folders a case-insensitive file system takes for .git or .kura, saying why", "[repo]") {
  RepoFixture f;
  f.write(".GIT/config", "[core]\n");
  f.write("data/.Git/hooks/post-checkout", "#!/bin/sh\n");
  f.write("KURA~1/x.txt", "x\n");
  f.write("data/ok.txt", "ok\n");
  AddResult r = f.add_all();
  REQUIRE(r.files_added == 1);
  REQUIRE(r.skipped.size() == 3);
  for (const auto& s : r.skipped) REQUIRE(s.find("case-insensitive") != std::string::npos);
  REQUIRE(f.repo->status().untracked.empty());
  AddResult named = f.repo->add({(f / ".GIT/config").string()});
  REQUIRE(named.files_added == 0);
  REQUIRE(named.skipped.size() == 1);
  REQUIRE(named.skipped[0].find(".GIT") != std::string::npos);
}
