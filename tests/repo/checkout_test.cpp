// checkout and switch: exact bytes back, local changes protected, paths from
// foreign commits kept inside the working folder.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "fixture.hpp"
#include "kura/error.hpp"
#include "repo/git.hpp"
#include "repo/odb_backend.hpp"

using namespace kura;
using namespace kura::test;

namespace {

struct TwoVersions : RepoFixture {
  std::map<std::string, std::string> v1;
  CommitInfo c1, c2;
  TwoVersions() {
    v1["images/fish.jpg"] = data_file("fish.jpg");
    v1["images/logo.jpg"] = data_file("linux.jpg");
    v1["train.jsonl"] = vision_example(data_file("fish.jpg"), "fish") + "\r\n" +
                        vision_example(data_file("linux.jpg"), "logo");  // CRLF, no final newline
    for (auto& [p, b] : v1) write(p, b);
    add_all();
    c1 = commit("v1");
    fs::remove(dir / "images/logo.jpg");
    write("images/blox.webp", data_file("blox.webp"));
    write("train.jsonl", vision_example(data_file("fish.jpg"), "a fish") + "\n");
    add_all();
    c2 = commit("v2");
  }
};

}  // namespace

TEST_CASE("checkout restores every file of an old commit byte for byte", "[repo][checkout]") {
  TwoVersions f;
  CheckoutResult r = f.repo->checkout(f.c1.id, {});
  REQUIRE(r.detached);
  for (auto& [path, bytes] : f.v1) REQUIRE(sha256_hex(f.read(path)) == sha256_hex(bytes));
  REQUIRE_FALSE(fs::exists(f / "images/blox.webp"));
  REQUIRE(f.repo->status().clean());
  f.repo->switch_branch("main", false, false);
  REQUIRE(fs::exists(f / "images/blox.webp"));
  REQUIRE_FALSE(fs::exists(f / "images/logo.jpg"));
  REQUIRE(f.repo->current_branch() == "main");
  REQUIRE(f.repo->status().clean());
}

TEST_CASE("checkout refuses to clobber local changes unless forced", "[repo][checkout]") {
  TwoVersions f;
  f.write("train.jsonl", "my unsaved work\n");
  let_clock_tick();
  try {
    f.repo->checkout(f.c1.id, {});
    FAIL("checkout overwrote a modified file");
  } catch (const Error& e) {
    REQUIRE(e.code() == ErrorCode::kConflict);
    REQUIRE(std::string(e.what()).find("train.jsonl") != std::string::npos);
  }
  REQUIRE(f.read("train.jsonl") == "my unsaved work\n");
  REQUIRE(f.repo->resolve("HEAD").id == f.c2.id);
  CheckoutOptions force;
  force.force = true;
  f.repo->checkout(f.c1.id, force);
  REQUIRE(f.read("train.jsonl") == f.v1["train.jsonl"]);
}

TEST_CASE("an untracked file in the way is not overwritten", "[repo][checkout]") {
  TwoVersions f;
  f.write("images/logo.jpg", "not the logo");  // tracked in v1, untracked now
  REQUIRE_THROWS_AS(f.repo->checkout(f.c1.id, {}), Error);
  REQUIRE(f.read("images/logo.jpg") == "not the logo");
}

TEST_CASE("checkout of paths restores them and leaves HEAD", "[repo][checkout]") {
  TwoVersions f;
  CheckoutOptions o;
  o.paths = {(f / "train.jsonl").string()};
  f.repo->checkout(f.c1.id, o);
  REQUIRE(f.read("train.jsonl") == f.v1["train.jsonl"]);
  REQUIRE(f.repo->resolve("HEAD").id == f.c2.id);
  REQUIRE(f.repo->status().staged.size() == 1);
}

TEST_CASE("branches and tags name commits", "[repo]") {
  TwoVersions f;
  f.repo->create_branch("experiment", f.c1.id, false);
  f.repo->create_tag("v1.0", f.c1.id, "");
  f.repo->create_tag("v2.0", "HEAD", "second release");
  REQUIRE(f.repo->resolve("experiment").id == f.c1.id);
  REQUIRE(f.repo->resolve("v1.0").id == f.c1.id);
  REQUIRE(f.repo->resolve("v2.0").id == f.c2.id);
  auto tags = f.repo->tags();
  REQUIRE(tags.size() == 2);
  REQUIRE(tags[1].message == "second release");
  // The tagger is named as a commit's author is (KURA_AUTHOR_NAME, _EMAIL first).
  REQUIRE(tags[0].tagger.empty());
  REQUIRE(tags[1].tagger == f.repo->resolve("HEAD").author_name + " <" + f.repo->resolve("HEAD").author_email + ">");
  REQUIRE_THROWS_AS(f.repo->create_branch("experiment", "HEAD", false), Error);
  f.repo->switch_branch("experiment", false, false);
  REQUIRE(f.read("train.jsonl") == f.v1["train.jsonl"]);
  REQUIRE_THROWS_WITH(f.repo->delete_branch("experiment"), Catch::Contains("checked out"));
  f.repo->switch_branch("main", false, false);
  f.repo->delete_branch("experiment");
  REQUIRE(f.repo->branches().size() == 1);
}

namespace {

// Writes a raw git object straight into the store, as a malicious or broken
// peer could, bypassing libgit2's own name checks.
git_oid put_raw(Store& store, git_object_t type, const std::string& data) {
  git_oid oid;
  REQUIRE(git_odb_hash(&oid, data.data(), data.size(), type) == 0);
  store.put(Table::kGit, git::raw(oid), encode_git_value(type, data), Sync::kYes);
  return oid;
}

std::string tree_entry(const std::string& mode, const std::string& name, const git_oid& oid) {
  return mode + " " + name + std::string(1, '\0') + std::string(git::raw(oid));
}

// A commit whose tree is the given root entries, under refs/heads/<branch>.
void plant_commit(RepoFixture& f, const std::string& branch, const std::string& root_tree) {
  Store& store = f.repo->store();
  git_oid tree = put_raw(store, GIT_OBJECT_TREE, root_tree);
  std::string commit = "tree " + git::hex(tree) +
                       "\nauthor Mallory <m@example.com> 0 +0000\ncommitter Mallory <m@example.com> 0 +0000\n\nevil\n";
  git_oid c = put_raw(store, GIT_OBJECT_COMMIT, commit);
  write_file(f / (".kura/git/refs/heads/" + branch), git::hex(c) + "\n");
}

git_oid media_pointer(RepoFixture& f, const std::string& bytes) {
  Pointer p;
  p.object = f.repo->store().put_object(bytes);
  p.file_sha = p.object;
  p.size = bytes.size();
  f.repo->store().sync_objects();
  return put_raw(f.repo->store(), GIT_OBJECT_BLOB, p.encode());
}

}  // namespace

TEST_CASE("checkout refuses a commit whose paths leave the working folder", "[repo][checkout][safety]") {
  RepoFixture f;
  f.write("keep.jpg", data_file("fish.jpg"));
  f.add_all();
  f.commit("mine");
  git_oid blob = media_pointer(f, data_file("linux.jpg"));
  git_oid up = put_raw(f.repo->store(), GIT_OBJECT_TREE, tree_entry("100644", "evil.jpg", blob));
  plant_commit(f, "dotdot", tree_entry("40000", "..", up));
  git_oid inside = put_raw(f.repo->store(), GIT_OBJECT_TREE, tree_entry("100644", "CURRENT", blob));
  plant_commit(f, "kura", tree_entry("40000", ".kura", inside));
  for (const char* branch : {"dotdot", "kura"}) {
    INFO(branch);
    try {
      f.repo->checkout(branch, {});
      FAIL("checkout of a hostile tree succeeded");
    } catch (const Error& e) {
      REQUIRE(e.code() == ErrorCode::kInvalidInput);
      REQUIRE(std::string(e.what()).find("refusing to write") != std::string::npos);
    }
  }
  REQUIRE_FALSE(fs::exists(f.dir.path().parent_path() / "evil.jpg"));
  REQUIRE(f.repo->resolve("HEAD").message == "mine\n");
  REQUIRE(f.read("keep.jpg") == data_file("fish.jpg"));
}

TEST_CASE("checkout refuses to write through a symlink in the way", "[repo][checkout][safety]") {
  RepoFixture f;
  TempDir outside;
  f.write("keep.jpg", data_file("fish.jpg"));
  f.add_all();
  f.commit("mine");
  git_oid blob = media_pointer(f, data_file("linux.jpg"));
  git_oid sub = put_raw(f.repo->store(), GIT_OBJECT_TREE, tree_entry("100644", "x.jpg", blob));
  git_oid keep = git::oid_from_hex(f.repo->ls_files("HEAD")[0].pointer_oid);
  plant_commit(f, "through", tree_entry("100644", "keep.jpg", keep) + tree_entry("40000", "data", sub));
  fs::create_directory_symlink(outside.path(), f / "data");  // untracked link pointing out
  REQUIRE_THROWS_WITH(f.repo->checkout("through", {}), Catch::Contains("symlink"));
  REQUIRE(fs::is_empty(outside.path()));
}

TEST_CASE("checkout writes a file whose name has the 255 bytes a file system allows", "[repo][checkout]") {
  RepoFixture f;
  f.write("readme.txt", "t");
  f.add_all();
  const CommitInfo before = f.commit("short names");
  const std::string name = "images/" + std::string(251, 'x') + ".jpg";
  f.write(name, data_file("fish.jpg"));
  f.add_all();
  f.commit("long name");
  f.repo->checkout(before.id, {});
  REQUIRE_FALSE(fs::exists(f / name));
  f.repo->switch_branch("main", false, false);
  REQUIRE(sha256_hex(f.read(name)) == sha256_hex(data_file("fish.jpg")));
  REQUIRE(f.repo->status().clean());
  REQUIRE(count_temporaries(f.dir.path()) == 0);
}

TEST_CASE("the next open finishes a checkout whose process was killed just after it began", "[repo][checkout][recover]") {
  TwoVersions f;
  // What a kill right after the journal was written leaves: the journal,
  // maybe a lock file of HEAD and a temporary; HEAD, index and files of main.
  f.close();
  write_file(f / ".kura/journal", nlohmann::json({{"op", "checkout"}, {"command", "kura checkout"}, {"target", f.c1.id},
                                                  {"head", ""}, {"force", false}, {"paths", nlohmann::json::array()},
                                                  {"pid", 1}})
                                      .dump());
  write_file(f / ".kura/git/HEAD.lock", "");
  write_file(f / ".kura/tmp/.kura-tmp-1-0", "half a file");
  std::vector<std::string> notices;
  OpenOptions o;
  o.notice = [&](const std::string& m) { notices.push_back(m); };
  f.repo = Repo::open(f.dir.path(), o);
  REQUIRE(notices.size() == 3);
  REQUIRE_THAT(notices[0], Catch::Contains("HEAD.lock"));
  REQUIRE_THAT(notices[1], Catch::Contains("finishing the checkout"));
  REQUIRE_THAT(notices[2], Catch::Contains("agree"));
  REQUIRE(f.repo->current_branch().empty());
  REQUIRE(f.repo->resolve("HEAD").id == f.c1.id);
  for (auto& [path, bytes] : f.v1) REQUIRE(sha256_hex(f.read(path)) == sha256_hex(bytes));
  REQUIRE(f.repo->status().clean());
  REQUIRE_FALSE(fs::exists(f / ".kura/journal"));
  REQUIRE_FALSE(fs::exists(f / ".kura/git/HEAD.lock"));
  REQUIRE_FALSE(fs::exists(f / ".kura/tmp/.kura-tmp-1-0"));
}

TEST_CASE("checkout refuses names that are .git or .kura on case-insensitive file systems, writing nothing",
          "[repo][checkout][safety]") {
  RepoFixture f;
  f.write("keep.jpg", data_file("fish.jpg"));
  f.add_all();
  f.commit("mine");
  git_oid blob = media_pointer(f, data_file("linux.jpg"));
  git_oid hook = put_raw(f.repo->store(), GIT_OBJECT_TREE, tree_entry("100644", "post-checkout", blob));
  git_oid hooks = put_raw(f.repo->store(), GIT_OBJECT_TREE, tree_entry("40000", "hooks", hook));
  const std::vector<std::string> names = {".GIT", ".Git", ".git ", ".git.", "GIT~1", ".KURA", "KURA~1",
                                          ".g\u200cit", "\ufeff.git"};
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string branch = "hostile" + std::to_string(i);
    // A harmless file beside the hostile folder, in git's tree order: it must not be written either.
    const std::string bad = tree_entry("40000", names[i], hooks), good = tree_entry("100644", "z.jpg", blob);
    plant_commit(f, branch, names[i] + "/" < "z.jpg" ? bad + good : good + bad);
    INFO(names[i]);
    REQUIRE_THROWS_WITH(f.repo->checkout(branch, {}),
                        Catch::Contains("refusing to write '" + names[i] + "/hooks/post-checkout'") &&
                            Catch::Contains("case-insensitive"));
    REQUIRE_FALSE(fs::exists(f / names[i]));
    REQUIRE_FALSE(fs::exists(f / "z.jpg"));
  }
  REQUIRE(f.repo->resolve("HEAD").message == "mine\n");
  REQUIRE(f.read("keep.jpg") == data_file("fish.jpg"));
}

TEST_CASE("an image whose stored bytes changed on disk stops show and checkout of its table", "[repo][checkout]") {
  TwoVersions f;
  // train.jsonl of v1 has the logo inline; the loose images/logo.jpg is the
  // same object. Replace its stored bytes by other bytes under the same id,
  // as a damaged disk would.
  const ObjectId logo = sha256(data_file("linux.jpg"));
  f.repo->store().erase_objects({logo});
  f.repo->store().put_object(logo, data_file("fish.jpg"));
  try {
    f.show(f.c1.id, "train.jsonl");
    FAIL("show of a damaged table succeeded");
  } catch (const Error& e) {
    REQUIRE(e.code() == ErrorCode::kCorrupt);
    REQUIRE_THAT(e.what(), Catch::Contains("train.jsonl") && Catch::Contains("kura fsck"));
  }
  const std::string before = f.read("train.jsonl");
  REQUIRE_THROWS_AS(f.repo->checkout(f.c1.id, {}), Error);
  REQUIRE(f.read("train.jsonl") == before);  // the damaged rebuild was never renamed into place
  REQUIRE(f.repo->current_branch() == "main");
}
