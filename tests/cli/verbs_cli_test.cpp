// git's everyday verbs driven like a user: an unknown command, kura alone,
// log -- PATH with decorations and --graph, diff --staged and A..B / A...B,
// show --stat, commit -a and --amend, restore, reset, revert, switch -,
// branch -r/-a and status's hints.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support.hpp"

using namespace kura::test;
using nlohmann::json;

namespace {

std::string row(const std::string& id, const std::string& label) {
  return R"({"id":")" + id + R"(","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,)" +
         base64(data_file("fish.jpg")) + R"("}}]},{"role":"assistant","content":")" + label + R"("}]})";
}

std::string lines(const std::vector<std::string>& rows) {
  std::string out;
  for (const auto& r : rows) out += r + "\n";
  return out;
}

RunResult ok(const TempDir& d, const std::vector<std::string>& args) {
  RunResult r = run_kura(d.path(), args);
  INFO("kura " << args[0] << ": " << r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return r;
}

void edit(const TempDir& d, const std::string& file, const std::string& bytes) {
  write_file(d / file, bytes);
  let_clock_tick();
}

// Three commits: "first" (a.txt, train.jsonl), "relabel b" (train.jsonl), "add b.txt".
void history(const TempDir& d) {
  ok(d, {"init"});
  // Three examples: fewer than the openai profile wants. Tracked, so clones check alike.
  write_file(d / "kura-checks.json", R"({"profile": "generic"})");
  edit(d, "a.txt", "one\n");
  edit(d, "train.jsonl", lines({row("a", "cat"), row("b", "dog"), row("c", "fish")}));
  ok(d, {"add", "."});
  ok(d, {"commit", "-m", "first"});
  edit(d, "train.jsonl", lines({row("a", "cat"), row("b", "puppy"), row("c", "fish")}));
  ok(d, {"add", "."});
  ok(d, {"commit", "-m", "relabel b"});
  edit(d, "b.txt", "two\n");
  ok(d, {"add", "."});
  ok(d, {"commit", "-m", "add b.txt"});
}

}  // namespace

TEST_CASE("cli: an unknown command names the most similar one and kura alone prints the usage", "[verbs][cli]") {
  TempDir d;
  RunResult r = run_kura(d.path(), {"comit", "-m", "x"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "kura: 'comit' is not a kura command; the most similar is: commit\n");
  r = run_kura(d.path(), {"-q", "stauts"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("the most similar is: status") != std::string::npos);
  r = run_kura(d.path(), {"frobnicate"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "kura: 'frobnicate' is not a kura command; see 'kura --help' for the list of commands\n");
  r = run_kura(d.path(), {});
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("Usage:") != std::string::npos);
  CHECK(r.out.find("commit") != std::string::npos);
  CHECK(r.err.find("A subcommand is required") == std::string::npos);
  CHECK(run_kura(d.path(), {"--help"}).exit_code == 0);
  CHECK(run_kura(d.path(), {"--version"}).exit_code == 0);
}

TEST_CASE("cli: log -- PATH filters by path and shows branch and tag names", "[verbs][cli]") {
  TempDir d;
  history(d);
  ok(d, {"tag", "v1", "HEAD~1"});
  RunResult r = ok(d, {"log", "--oneline", "--", "train.jsonl"});
  CHECK(r.out.find("relabel b") != std::string::npos);
  CHECK(r.out.find("first") != std::string::npos);
  CHECK(r.out.find("add b.txt") == std::string::npos);
  r = ok(d, {"log", "--oneline"});
  CHECK(r.out.find("(HEAD -> main) add b.txt") != std::string::npos);
  CHECK(r.out.find("(tag: v1) relabel b") != std::string::npos);
  // A path without -- is taken as a path when it is no revision.
  r = ok(d, {"log", "--json", "b.txt"});
  json j = json::parse(r.out);
  REQUIRE(j.size() == 1);
  CHECK(j[0]["message"] == "add b.txt\n");
  CHECK(j[0]["refs"] == json::array({"HEAD -> main"}));
  // A..B
  r = ok(d, {"log", "--oneline", "HEAD~2..HEAD"});
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 2);
}

TEST_CASE("cli: log --graph --all draws a merge of two branches", "[verbs][cli]") {
  TempDir d;
  history(d);
  ok(d, {"switch", "-c", "side", "HEAD~1"});
  edit(d, "side.txt", "s\n");
  ok(d, {"add", "."});
  ok(d, {"commit", "-m", "on side"});
  ok(d, {"switch", "main"});
  ok(d, {"merge", "side", "-m", "merge side"});
  RunResult r = ok(d, {"log", "--graph", "--oneline", "--all"});
  INFO(r.out);
  CHECK(r.out.rfind("* ", 0) == 0);
  CHECK(r.out.find("|\\") != std::string::npos);
  CHECK(r.out.find("|/") != std::string::npos);
  CHECK(std::count(r.out.begin(), r.out.end(), '*') == 5);
}

TEST_CASE("cli: diff --staged and --cached show the index against HEAD and A...B uses the merge base", "[verbs][cli]") {
  TempDir d;
  history(d);
  edit(d, "train.jsonl", lines({row("a", "cat"), row("b", "puppy"), row("c", "goldfish")}));
  ok(d, {"add", "train.jsonl"});
  edit(d, "a.txt", "unstaged\n");
  for (const char* flag : {"--staged", "--cached"}) {
    json j = json::parse(ok(d, {"diff", flag, "--json"}).out);
    CHECK(j["staged"] == true);
    REQUIRE(j["files"].size() == 1);  // a.txt is not staged
    CHECK(j["files"][0]["path"] == "train.jsonl");
    CHECK(j["totals"]["rows_modified"] == 1);
  }
  json w = json::parse(ok(d, {"diff", "--json"}).out);
  CHECK(w["files"].size() == 2);  // HEAD against the working folder
  json two = json::parse(ok(d, {"diff", "HEAD~2..HEAD~1", "--json"}).out);
  REQUIRE(two["files"].size() == 1);
  CHECK(two["files"][0]["path"] == "train.jsonl");
  // A...B: B against the merge base. side forks at HEAD~1 and changes side.txt only.
  ok(d, {"commit", "-m", "goldfish"});
  ok(d, {"restore", "a.txt"});  // the unstaged edit goes
  ok(d, {"switch", "-c", "side", "HEAD~2"});
  edit(d, "side.txt", "s\n");
  ok(d, {"add", "."});
  ok(d, {"commit", "-m", "on side"});
  json sym = json::parse(ok(d, {"diff", "main...side", "--json"}).out);
  REQUIRE(sym["files"].size() == 1);
  CHECK(sym["files"][0]["path"] == "side.txt");
  json plain = json::parse(ok(d, {"diff", "main..side", "--json"}).out);
  CHECK(plain["files"].size() > 1);
}

TEST_CASE("cli: show --stat prints the commit's file and row counts", "[verbs][cli]") {
  TempDir d;
  history(d);
  RunResult r = ok(d, {"show", "--stat", "HEAD~1"});
  CHECK(r.out.find("relabel b") != std::string::npos);
  CHECK(r.out.find("train.jsonl") != std::string::npos);
  CHECK(r.out.find("1 file changed") != std::string::npos);
  json j = json::parse(ok(d, {"show", "--stat", "--json", "HEAD~1"}).out);
  CHECK(j["diff"]["totals"]["rows_modified"] == 1);
}

TEST_CASE("cli: commit -a stages changed and deleted tracked files and --amend rewrites HEAD", "[verbs][cli]") {
  TempDir d;
  history(d);
  edit(d, "a.txt", "changed\n");
  std::filesystem::remove(d / "b.txt");
  edit(d, "new.txt", "not tracked\n");
  ok(d, {"commit", "-a", "-m", "edit and delete"});
  json files = json::parse(ok(d, {"ls-files", "HEAD", "--json"}).out);
  std::vector<std::string> paths;
  for (const auto& f : files) paths.push_back(f["path"]);
  CHECK(paths == std::vector<std::string>{"a.txt", "kura-checks.json", "train.jsonl"});
  json s = json::parse(ok(d, {"status", "--json"}).out);
  CHECK(s["untracked"] == json::array({"new.txt"}));
  const std::string before = json::parse(ok(d, {"log", "--json", "-n", "1"}).out)[0]["id"];
  ok(d, {"commit", "--amend", "-m", "edit a.txt and delete b.txt"});
  json log = json::parse(ok(d, {"log", "--json"}).out);
  CHECK(log.size() == 4);
  CHECK(log[0]["message"] == "edit a.txt and delete b.txt\n");
  CHECK(log[0]["id"] != before);
  CHECK(log[0]["parents"][0] == log[1]["id"]);
}

TEST_CASE("cli: restore and reset follow git", "[verbs][cli]") {
  TempDir d;
  history(d);
  std::filesystem::remove(d / "a.txt");
  ok(d, {"restore", "a.txt"});
  CHECK(read_file(d / "a.txt") == "one\n");
  edit(d, "a.txt", "staged edit\n");
  ok(d, {"add", "a.txt"});
  RunResult st = ok(d, {"status"});
  CHECK(st.out.find("kura restore --staged") != std::string::npos);
  ok(d, {"restore", "--staged", "a.txt"});
  json s = json::parse(ok(d, {"status", "--json"}).out);
  CHECK(s["staged"].empty());
  CHECK(s["unstaged"][0]["path"] == "a.txt");
  st = ok(d, {"status"});
  CHECK(st.out.find("kura restore PATH") != std::string::npos);
  // reset PATH unstages too.
  ok(d, {"add", "a.txt"});
  ok(d, {"reset", "a.txt"});
  CHECK(json::parse(ok(d, {"status", "--json"}).out)["staged"].empty());
  // reset --hard HEAD~2: nothing of the later commits or the edit is left.
  json r = json::parse(ok(d, {"reset", "--hard", "HEAD~2", "--json"}).out);
  CHECK(r["mode"] == "hard");
  CHECK(read_file(d / "a.txt") == "one\n");
  CHECK_FALSE(std::filesystem::exists(d / "b.txt"));
  CHECK(json::parse(ok(d, {"status", "--json"}).out)["clean"] == true);
  CHECK(json::parse(ok(d, {"log", "--json"}).out).size() == 1);
  CHECK(count_temporaries(d.path()) == 0);
  CHECK(run_kura(d.path(), {"reset", "--soft", "--hard"}).exit_code == 2);
  CHECK(run_kura(d.path(), {"fsck"}).exit_code == 0);
}

TEST_CASE("cli: revert of a relabel commit makes a one-parent commit that undoes that row", "[verbs][cli]") {
  TempDir d;
  history(d);
  // A later relabel of another row, which the revert keeps.
  edit(d, "train.jsonl", lines({row("a", "cat"), row("b", "puppy"), row("c", "goldfish")}));
  ok(d, {"commit", "-a", "-m", "relabel c"});
  json j = json::parse(ok(d, {"revert", "HEAD~2", "--json"}).out);
  CHECK(j["result"] == "revert");
  CHECK(j["tables_merged"] == json::array({"train.jsonl"}));
  CHECK(read_file(d / "train.jsonl") == lines({row("a", "cat"), row("b", "dog"), row("c", "goldfish")}));
  CHECK(read_file(d / "b.txt") == "two\n");
  json log = json::parse(ok(d, {"log", "--json", "-n", "1"}).out);
  CHECK(log[0]["parents"].size() == 1);
  CHECK(log[0]["message"].get<std::string>().rfind("Revert \"relabel b\"", 0) == 0);
  RunResult again = run_kura(d.path(), {"revert", "HEAD~3"});
  CHECK(again.exit_code == 1);  // nothing to do: its change is already undone
  CHECK(again.err.find("changes nothing") != std::string::npos);
  CHECK(run_kura(d.path(), {"revert", "--continue"}).exit_code == 2);
}

TEST_CASE("cli: switch - goes back and branch -r -a list remote-tracking branches", "[verbs][cli]") {
  TempDir d, remote;
  history(d);
  ok(d, {"switch", "-c", "side"});
  ok(d, {"switch", "main"});
  RunResult r = ok(d, {"switch", "-"});
  CHECK(r.out.find("Switched to branch 'side'") != std::string::npos);
  CHECK(json::parse(ok(d, {"status", "--json"}).out)["branch"] == "side");
  ok(d, {"switch", "-"});
  CHECK(json::parse(ok(d, {"status", "--json"}).out)["branch"] == "main");
  // A folder remote with two branches.
  ok(d, {"remote", "add", "origin", (remote / "store").string()});
  ok(d, {"push", "origin", "main"});
  ok(d, {"push", "origin", "side"});
  TempDir clone;
  const auto into = (clone / "c").string();
  ok(clone, {"clone", (remote / "store").string(), into});
  const TempDir& c = clone;
  RunResult rb = run_kura(c / "c", {"branch", "-r"});
  CHECK(rb.exit_code == 0);
  CHECK(rb.out.find("origin/main") != std::string::npos);
  CHECK(rb.out.find("origin/side") != std::string::npos);
  RunResult ra = run_kura(c / "c", {"branch", "-a"});
  CHECK(ra.out.find("* main") != std::string::npos);
  CHECK(ra.out.find("remotes/origin/side") != std::string::npos);
  // switch side: a tracking branch from origin/side.
  RunResult sw = run_kura(c / "c", {"switch", "side"});
  INFO(sw.out << sw.err);
  CHECK(sw.exit_code == 0);
  CHECK(sw.err.find("set up to track 'origin/side'") != std::string::npos);
  RunResult status = run_kura(c / "c", {"status"});
  CHECK(status.out.find("Your branch is up to date with 'origin/side'") != std::string::npos);
  write_file(c / "c" / "new.txt", "n\n");
  let_clock_tick();
  CHECK(run_kura(c / "c", {"add", "new.txt"}).exit_code == 0);
  CHECK(run_kura(c / "c", {"commit", "-m", "local"}).exit_code == 0);
  status = run_kura(c / "c", {"status"});
  CHECK(status.out.find("ahead of 'origin/side' by 1 commit.") != std::string::npos);
  json sj = json::parse(run_kura(c / "c", {"status", "--json"}).out);
  CHECK(sj["upstream"] == "origin/side");
  CHECK(sj["ahead"] == 1);
  CHECK(sj["behind"] == 0);
}

TEST_CASE("cli: clone of a colleague's working repository then fetch and pull from it", "[verbs][cli][remote]") {
  TempDir d;
  history(d);
  ok(d, {"branch", "review", "HEAD~1"});
  TempDir mine;
  const auto into = mine / "copy";
  RunResult c = ok(mine, {"clone", d.path().string(), into.string(), "--json"});
  json cj = json::parse(c.out);
  CHECK(cj["branch"] == "main");
  CHECK(read_file(into / "b.txt") == "two\n");
  CHECK(read_file(into / "train.jsonl") == read_file(d / "train.jsonl"));
  RunResult branches = run_kura(into, {"branch", "-r"});
  CHECK(branches.out.find("origin/review") != std::string::npos);
  CHECK(run_kura(into, {"fsck"}).exit_code == 0);
  // The colleague commits; a pull brings it.
  edit(d, "c.txt", "three\n");
  ok(d, {"add", "c.txt"});
  ok(d, {"commit", "-m", "add c.txt"});
  RunResult pull = run_kura(into, {"pull"});
  INFO(pull.out << pull.err);
  CHECK(pull.exit_code == 0);
  CHECK(read_file(into / "c.txt") == "three\n");
  // Pushing into somebody's working repository is refused, with the way out.
  write_file(into / "d.txt", "mine\n");
  let_clock_tick();
  CHECK(run_kura(into, {"add", "d.txt"}).exit_code == 0);
  CHECK(run_kura(into, {"commit", "-m", "mine"}).exit_code == 0);
  RunResult push = run_kura(into, {"push"});
  CHECK(push.exit_code == 2);
  CHECK(push.err.find("is a working repository") != std::string::npos);
  CHECK(json::parse(ok(d, {"log", "--json"}).out).size() == 4);
}
