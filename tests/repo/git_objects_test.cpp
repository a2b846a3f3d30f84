// Git's object formats as the remotes read them (kura/git_objects.hpp), on
// objects of a real repository made by libgit2.
#include <catch2/catch.hpp>

#include <algorithm>

#include "kura/error.hpp"
#include "kura/git_objects.hpp"
#include "repo/fixture.hpp"

using namespace kura;
using namespace kura::test;

TEST_CASE("git_commit_links names a commit's tree and parents", "[repo][git]") {
  RepoFixture f;
  f.write("a.txt", "one\n");
  f.add_all();
  const CommitInfo c1 = f.commit("first");
  f.write("b.txt", "two\n");
  f.add_all();
  const CommitInfo c2 = f.commit("second");
  const auto object = f.repo->read_git_object(c2.id);
  REQUIRE(object);
  CHECK(object->type == kGitCommit);
  CHECK(git_object_matches(*object));
  const GitCommitLinks links = git_commit_links(*object);
  CHECK(links.trees == std::vector<std::string>{c2.tree});
  CHECK(links.parents == std::vector<std::string>{c1.id});
  CHECK(links.objects.empty());
}

TEST_CASE("git_tree_entries lists a tree's files and folders with their ids", "[repo][git]") {
  RepoFixture f;
  f.write("a.txt", "one\n");
  f.write("images/x.txt", "two\n");
  f.add_all();
  const CommitInfo c = f.commit("first");
  const auto tree = f.repo->read_git_object(c.tree);
  REQUIRE(tree);
  CHECK(tree->type == kGitTree);
  const auto entries = git_tree_entries(*tree);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].name == "a.txt");
  CHECK(entries[0].kind == GitTreeEntry::Kind::kBlob);
  CHECK(entries[1].name == "images");
  CHECK(entries[1].kind == GitTreeEntry::Kind::kTree);
  for (const auto& e : entries) {
    const auto child = f.repo->read_git_object(e.id);
    REQUIRE(child);
    CHECK(git_object_matches(*child));
  }
  // Cut inside the last id: the tree's name is in the message.
  GitObject cut = *tree;
  cut.data.resize(cut.data.size() - 5);
  CHECK_THROWS_WITH(git_tree_entries(cut), Catch::Contains(tree->id) && Catch::Contains("malformed"));
}

TEST_CASE("git_object_matches refuses a changed byte and a wrong type", "[repo][git]") {
  RepoFixture f;
  f.write("a.txt", "one\n");
  f.add_all();
  const CommitInfo c = f.commit("first");
  auto object = f.repo->read_git_object(c.id);
  REQUIRE(object);
  GitObject flipped = *object;
  flipped.data[0] ^= 1;
  CHECK_FALSE(git_object_matches(flipped));
  GitObject retyped = *object;
  retyped.type = kGitBlob;
  CHECK_FALSE(git_object_matches(retyped));
  retyped.type = 9;
  CHECK_FALSE(git_object_matches(retyped));
}

TEST_CASE("git ids round-trip between hex and raw bytes", "[repo][git]") {
  const std::string hex = "0123456789abcdef0123456789abcdef01234567";
  const std::string raw = git_id_raw(hex);
  CHECK(raw.size() == 20);
  CHECK(git_id_hex(raw) == hex);
  CHECK_THROWS_WITH(git_id_raw("xyz"), Catch::Contains("bad git id xyz"));
}
