// git's everyday verbs on real repositories: reset, restore, revert (row by
// row), commit --amend, log -- PATH, merge_base, switch - and tracking
// branches (docs/cli.md).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "kura/error.hpp"
#include "repo/fixture.hpp"

using namespace kura;
using namespace kura::test;

namespace {

std::string row(const std::string& id, const std::string& label) { return keyed_example(id, label); }

bool has_path(const std::vector<StatusEntry>& v, const std::string& path, Change change) {
  for (const auto& e : v)
    if (e.path == path && e.change == change) return true;
  return false;
}

// Three commits: c1 a.txt, train.jsonl (4 rows); c2 relabels row b; c3 adds b.txt.
struct History : RepoFixture {
  CommitInfo c1, c2, c3;
  History() {
    write("a.txt", "one\n");
    write("train.jsonl", join_rows({row("a", "cat"), row("b", "dog"), row("c", "fish"), row("d", "bird")}));
    add_all();
    c1 = commit("first");
    write("train.jsonl", join_rows({row("a", "cat"), row("b", "puppy"), row("c", "fish"), row("d", "bird")}));
    add_all();
    c2 = commit("relabel b");
    write("b.txt", "two\n");
    add_all();
    c3 = commit("add b.txt");
  }
};

}  // namespace

TEST_CASE("reset --soft moves only the branch and leaves the change staged", "[verbs][repo]") {
  History h;
  h.repo->reset(h.c2.id, ResetMode::kSoft);
  CHECK(h.repo->resolve("main").id == h.c2.id);
  const StatusReport s = h.repo->status();
  CHECK(has_path(s.staged, "b.txt", Change::kAdded));
  CHECK(s.unstaged.empty());
  CHECK(h.read("b.txt") == "two\n");
  // Committing again makes the same tree as c3.
  CHECK(h.commit("again").tree == h.c3.tree);
}

TEST_CASE("reset --mixed moves the branch and the index and leaves the files", "[verbs][repo]") {
  History h;
  h.repo->reset(h.c1.id, ResetMode::kMixed);
  CHECK(h.repo->resolve("HEAD").id == h.c1.id);
  const StatusReport s = h.repo->status();
  CHECK(s.staged.empty());
  CHECK(has_path(s.unstaged, "train.jsonl", Change::kModified));
  CHECK(std::find(s.untracked.begin(), s.untracked.end(), "b.txt") != s.untracked.end());
  CHECK(h.read("train.jsonl").find("puppy") != std::string::npos);
  CHECK(h.repo->ls_files("").size() == 2);
  CHECK(h.repo->fsck().ok());
}

TEST_CASE("reset --hard leaves nothing behind: files index and branch at the commit", "[verbs][repo]") {
  History h;
  h.write("a.txt", "local edit\n");        // a change to a tracked file: discarded
  h.write("new.txt", "staged new file\n");  // staged as new: removed, as git does
  h.add_all();
  h.write("loose.txt", "untracked\n");      // untracked: stays
  const CheckoutResult r = h.repo->reset(h.c1.id, ResetMode::kHard);
  CHECK(r.commit == h.c1.id);
  CHECK(h.repo->resolve("main").id == h.c1.id);
  CHECK(h.repo->current_branch() == "main");
  CHECK(h.read("a.txt") == "one\n");
  CHECK(h.read("train.jsonl") == h.show(h.c1.id, "train.jsonl"));
  CHECK_FALSE(fs::exists(h / "b.txt"));
  CHECK_FALSE(fs::exists(h / "new.txt"));
  CHECK(h.read("loose.txt") == "untracked\n");
  const StatusReport s = h.repo->status();
  CHECK(s.staged.empty());
  CHECK(s.unstaged.empty());
  CHECK(s.untracked == std::vector<std::string>{"loose.txt"});
  CHECK(count_temporaries(h.dir.path()) == 0);
  CHECK(h.repo->fsck().ok());
  // The commits it left are still there: reset back to c3 brings them again.
  h.repo->reset(h.c3.id, ResetMode::kHard);
  CHECK(h.read("b.txt") == "two\n");
}

TEST_CASE("reset --hard on a detached HEAD moves HEAD itself", "[verbs][repo]") {
  History h;
  h.repo->checkout(h.c2.id, {});
  REQUIRE(h.repo->current_branch().empty());
  h.repo->reset(h.c1.id, ResetMode::kHard);
  CHECK(h.repo->resolve("HEAD").id == h.c1.id);
  CHECK(h.repo->resolve("main").id == h.c3.id);  // the branch was not HEAD's
}

TEST_CASE("a reset --mixed killed after its journal is finished by the next open", "[verbs][repo][crash]") {
  History h;
  // The journal a reset writes before its first change, as a killed one leaves it.
  write_file(h / ".kura/journal",
             nlohmann::json({{"op", "reset"}, {"command", "kura reset"}, {"mode", "mixed"}, {"target", h.c1.id},
                             {"ref", "refs/heads/main"}, {"old", h.c3.id}, {"reflog", "reset: moving to x"}, {"pid", 1}})
                 .dump());
  std::vector<std::string> notices;
  h.close();
  OpenOptions o;
  o.notice = [&](const std::string& m) { notices.push_back(m); };
  h.repo = Repo::open(h.dir.path(), o);
  CHECK(h.repo->resolve("main").id == h.c1.id);
  CHECK(h.repo->ls_files("").size() == 2);
  REQUIRE(notices.size() >= 2);
  CHECK(notices[0].find("finishing the reset of 'main'") != std::string::npos);
  CHECK_FALSE(fs::exists(h / ".kura/journal"));
  CHECK(h.repo->fsck().ok());
}

TEST_CASE("restore brings back a deleted and a modified file from the index", "[verbs][repo]") {
  History h;
  fs::remove(h / "a.txt");
  h.write("train.jsonl", "not even json\n");
  h.repo->restore({(h / "a.txt").string(), (h / "train.jsonl").string()}, {});
  CHECK(h.read("a.txt") == "one\n");
  CHECK(h.read("train.jsonl") == h.show("HEAD", "train.jsonl"));
  CHECK(h.repo->status().clean());
  CHECK(count_temporaries(h.dir.path()) == 0);
}

TEST_CASE("restore --staged unstages and --source takes an older version", "[verbs][repo]") {
  History h;
  h.write("a.txt", "changed\n");
  h.write("c.txt", "brand new\n");
  h.add_all();
  RestoreOptions staged;
  staged.staged = true;
  staged.worktree = false;
  h.repo->restore({(h / "a.txt").string(), (h / "c.txt").string()}, staged);
  StatusReport s = h.repo->status();
  CHECK(s.staged.empty());
  CHECK(has_path(s.unstaged, "a.txt", Change::kModified));
  CHECK(h.read("a.txt") == "changed\n");  // the file is untouched
  CHECK(std::find(s.untracked.begin(), s.untracked.end(), "c.txt") != s.untracked.end());

  RestoreOptions old;
  old.source = h.c1.id;
  h.repo->restore({(h / "train.jsonl").string(), (h / "b.txt").string()}, old);
  CHECK(h.read("train.jsonl") == h.show(h.c1.id, "train.jsonl"));
  CHECK_FALSE(fs::exists(h / "b.txt"));  // tracked, and not in the source: removed
  s = h.repo->status();
  CHECK(has_path(s.unstaged, "train.jsonl", Change::kModified));
  CHECK(has_path(s.unstaged, "b.txt", Change::kDeleted));
}

TEST_CASE("restore of a path nothing tracks is an error naming it", "[verbs][repo]") {
  History h;
  h.write("loose.txt", "x");
  try {
    h.repo->restore({(h / "loose.txt").string()}, {});
    FAIL("restore of an untracked file went through");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kNotFound);
    CHECK(std::string(e.what()).find("loose.txt") != std::string::npos);
  }
  CHECK(h.read("loose.txt") == "x");
}

TEST_CASE("checkout REV -- PATH restores a deleted file without --force", "[verbs][repo]") {
  History h;
  fs::remove(h / "a.txt");
  CheckoutOptions o;
  o.paths = {(h / "a.txt").string()};
  h.repo->checkout("HEAD", o);
  CHECK(h.read("a.txt") == "one\n");
  // A modified file is still protected.
  h.write("a.txt", "work\n");
  CHECK_THROWS_AS(h.repo->checkout("HEAD", o), Error);
  CHECK(h.read("a.txt") == "work\n");
}

TEST_CASE("revert of a relabel commit undoes that row only and keeps later edits", "[verbs][repo]") {
  History h;
  // A later edit of another row, which the revert must keep.
  h.write("train.jsonl", join_rows({row("a", "kitten"), row("b", "puppy"), row("c", "fish"), row("d", "bird")}));
  h.add_all();
  h.commit("relabel a");
  MergeOptions o;
  o.verify = false;
  const MergeResult r = h.repo->revert(h.c2.id, "", o);
  REQUIRE_FALSE(r.stopped);
  const CommitInfo c = h.repo->resolve("HEAD");
  CHECK(c.parents.size() == 1);
  CHECK(c.message.rfind("Revert \"relabel b\"", 0) == 0);
  CHECK(c.message.find(h.c2.id) != std::string::npos);
  CHECK(h.read("train.jsonl") ==
        join_rows({row("a", "kitten"), row("b", "dog"), row("c", "fish"), row("d", "bird")}));
  CHECK(h.read("b.txt") == "two\n");
  CHECK(h.repo->status().clean());
  // Reverting it again changes nothing.
  CHECK_THROWS_AS(h.repo->revert(h.c2.id, "", o), Error);
}

TEST_CASE("revert of a row changed since stops at that row and commits with one parent", "[verbs][repo]") {
  History h;
  h.write("train.jsonl", join_rows({row("a", "cat"), row("b", "hound"), row("c", "fish"), row("d", "bird")}));
  h.add_all();
  const CommitInfo later = h.commit("relabel b again");
  MergeOptions o;
  o.verify = false;
  const MergeResult r = h.repo->revert(h.c2.id, "", o);
  REQUIRE(r.stopped);
  REQUIRE(r.conflicts.size() == 1);
  CHECK(r.conflicts[0].rows.size() == 1);
  auto state = h.repo->merge_state();
  REQUIRE(state);
  CHECK(state->kind == "revert");
  CHECK(h.repo->status().merge_kind == "revert");
  // Resolve by keeping the later label.
  h.write("train.jsonl", h.show(later.id, "train.jsonl"));
  h.add_all();
  CommitOptions co;
  co.message = state->message;
  co.verify = false;
  co.allow_empty = true;
  const CommitInfo c = h.repo->commit(co);
  CHECK(c.parents == std::vector<std::string>{later.id});
  CHECK_FALSE(h.repo->merge_state());
}

TEST_CASE("revert --abort puts everything back", "[verbs][repo]") {
  History h;
  h.write("train.jsonl", join_rows({row("a", "cat"), row("b", "hound"), row("c", "fish"), row("d", "bird")}));
  h.add_all();
  const CommitInfo later = h.commit("relabel b again");
  const std::string before = h.read("train.jsonl");
  MergeOptions o;
  o.verify = false;
  REQUIRE(h.repo->revert(h.c2.id, "", o).stopped);
  h.repo->abort_merge();
  CHECK(h.read("train.jsonl") == before);
  CHECK(h.repo->resolve("HEAD").id == later.id);
  CHECK(h.repo->status().clean());
}

TEST_CASE("commit --amend replaces HEAD with the same parents", "[verbs][repo]") {
  History h;
  h.write("b.txt", "two, fixed\n");
  h.add_all();
  CommitOptions o;
  o.amend = true;
  o.verify = false;
  const CommitInfo c = h.repo->commit(o);  // message: the amended commit's
  CHECK(c.parents == std::vector<std::string>{h.c2.id});
  CHECK(c.message == "add b.txt\n");
  CHECK(h.show("HEAD", "b.txt") == "two, fixed\n");
  CHECK(h.repo->log("HEAD", 0).size() == 3);
  o.message = "add b.txt (reworded)";
  CHECK(h.repo->commit(o).message == "add b.txt (reworded)\n");
  CHECK(h.repo->log("HEAD", 0).size() == 3);
}

TEST_CASE("log with paths lists only the commits that changed them", "[verbs][repo]") {
  History h;
  LogOptions o;
  o.paths = {(h / "train.jsonl").string()};
  auto ids = [](const std::vector<CommitInfo>& v) {
    std::vector<std::string> out;
    for (const auto& c : v) out.push_back(c.id);
    return out;
  };
  CHECK(ids(h.repo->log(o)) == std::vector<std::string>{h.c2.id, h.c1.id});
  o.paths = {(h / "b.txt").string()};
  CHECK(ids(h.repo->log(o)) == std::vector<std::string>{h.c3.id});
  o.paths = {(h / "a.txt").string()};
  CHECK(ids(h.repo->log(o)) == std::vector<std::string>{h.c1.id});
  o.paths = {(h / "nothing-here").string()};
  CHECK(h.repo->log(o).empty());
  LogOptions range;
  range.revs = {h.c3.id};
  range.hide = {h.c1.id};
  CHECK(ids(h.repo->log(range)) == std::vector<std::string>{h.c3.id, h.c2.id});
}

TEST_CASE("log --all and merge_base see every branch", "[verbs][repo]") {
  History h;
  h.repo->create_branch("side", h.c1.id, false);
  h.repo->switch_branch("side", false, false);
  h.write("side.txt", "s\n");
  h.add_all();
  const CommitInfo s = h.commit("on side");
  h.repo->switch_branch("main", false, false);
  CHECK(h.repo->merge_base("main", "side") == h.c1.id);
  LogOptions o;
  CHECK(h.repo->log(o).size() == 3);
  o.all = true;
  CHECK(h.repo->log(o).size() == 4);
  // switch -: where HEAD was before.
  CHECK(h.repo->previous_head() == "side");
  h.repo->switch_branch("side", false, false);
  CHECK(h.repo->previous_head() == "main");
  (void)s;
}

TEST_CASE("switch to a remote's branch name makes a tracking branch", "[verbs][repo]") {
  History h;
  // A remote-tracking branch as fetch leaves it.
  h.repo->set_ref("refs/remotes/origin/review", h.c1.id, "fetch");
  h.repo->switch_branch("review", false, false);
  CHECK(h.repo->current_branch() == "review");
  CHECK(h.repo->resolve("review").id == h.c1.id);
  CHECK(h.repo->config("branch.review.remote") == std::optional<std::string>("origin"));
  CHECK(h.repo->config("branch.review.merge") == std::optional<std::string>("refs/heads/review"));
  StatusReport s = h.repo->status();
  CHECK(s.upstream == "origin/review");
  CHECK(s.ahead == 0);
  CHECK(s.behind == 0);
  h.write("r.txt", "r\n");
  h.add_all();
  h.commit("review work");
  s = h.repo->status();
  CHECK(s.ahead == 1);
  CHECK(s.behind == 0);
  // branch -v's view of the same, then with the remote-tracking branch gone.
  auto u = h.repo->upstream("review");
  REQUIRE(u);
  CHECK(u->name == "origin/review");
  CHECK_FALSE(u->gone);
  CHECK(u->ahead == 1);
  CHECK_FALSE(h.repo->upstream("main"));
  h.repo->delete_ref("refs/remotes/origin/review");
  u = h.repo->upstream("review");
  REQUIRE(u);
  CHECK(u->gone);
  CHECK(h.repo->status().upstream.empty());
  // No remote has it: the old message.
  CHECK_THROWS_AS(h.repo->switch_branch("nowhere", false, false), Error);
}
