// kura merge driven like a user: two branches of one JSONL, a clean
// row-level merge, a conflict listed in text and JSON (exit 1) and
// resolved by hand or with --theirs, --abort, status during a merge.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support.hpp"

using namespace kura::test;
using nlohmann::json;

namespace {

std::string row(const std::string& id, const std::string& label, const std::string& image = "fish.jpg") {
  return R"({"id":")" + id + R"(","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,)" +
         base64(data_file(image)) + R"("}}]},{"role":"assistant","content":")" + label + R"("}]})";
}

std::string lines(const std::vector<std::string>& rows) {
  std::string out;
  for (const auto& r : rows) out += r + "\n";
  return out;
}

const std::vector<std::string> kBase = {row("a", "fish"), row("b", "logo", "linux.jpg"), row("c", "fish")};

void ok(const TempDir& d, const std::vector<std::string>& args) {
  RunResult r = run_kura(d.path(), args);
  INFO(args[0] << ": " << r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

// main and "relabel", forked at a commit of kBase; each then edits train.jsonl.
void fork(const TempDir& d, const std::string& ours, const std::string& theirs) {
  ok(d, {"init"});
  // Three examples: fewer than the openai profile's minimum of 10.
  write_file(d / ".kura/checks.json", R"({"profile": "generic"})");
  write_file(d / "train.jsonl", lines(kBase));
  ok(d, {"add", "."});
  ok(d, {"commit", "-m", "base"});
  ok(d, {"switch", "-c", "relabel"});
  write_file(d / "train.jsonl", theirs);
  let_clock_tick();
  ok(d, {"add", "."});
  ok(d, {"commit", "-m", "theirs"});
  ok(d, {"switch", "main"});
  write_file(d / "train.jsonl", ours);
  let_clock_tick();
  ok(d, {"add", "."});
  ok(d, {"commit", "-m", "ours"});
}

}  // namespace

TEST_CASE("cli: kura merge merges two branches' different rows into a checked two-parent commit", "[merge][cli]") {
  TempDir d;
  fork(d, lines({row("a", "carp"), kBase[1], kBase[2]}), lines({kBase[0], kBase[1], kBase[2], row("d", "new")}));
  RunResult r = run_kura(d.path(), {"merge", "relabel", "--json"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  json j = json::parse(r.out);
  REQUIRE(j["result"] == "merge");
  REQUIRE(j["tables_merged"] == json::array({"train.jsonl"}));
  REQUIRE(j.contains("checks"));
  REQUIRE(read_file(d / "train.jsonl") == lines({row("a", "carp"), kBase[1], kBase[2], row("d", "new")}));
  RunResult log = run_kura(d.path(), {"log", "--json", "-n", "1"});
  REQUIRE_THAT(log.out, Catch::Contains("Merge branch 'relabel'"));
  REQUIRE(run_kura(d.path(), {"merge", "relabel"}).out == "already up to date\n");
  REQUIRE(run_kura(d.path(), {"fsck"}).exit_code == 0);
}

TEST_CASE("cli: a row changed on both sides stops the merge with exit 1, listed, and resolved by hand", "[merge][cli]") {
  TempDir d;
  fork(d, lines({row("a", "carp"), kBase[1], kBase[2]}), lines({row("a", "trout"), kBase[1], row("c", "salmon")}));
  RunResult r = run_kura(d.path(), {"merge", "relabel"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 1);
  REQUIRE_THAT(r.out, Catch::Contains("merge of relabel into 'main' stopped: 1 path conflicts"));
  REQUIRE_THAT(r.out, Catch::Contains("train.jsonl: 1 row conflicts"));
  REQUIRE_THAT(r.out, Catch::Contains("line 1: changed on both sides (base line 1, ours line 1, theirs line 1); "
                                      "ours changed message 2; theirs changed message 2"));
  const std::string file = read_file(d / "train.jsonl");
  REQUIRE(file == lines({"<<<<<<< ours: line 1", row("a", "carp"), "||||||| base: line 1", kBase[0], "=======",
                         row("a", "trout"), ">>>>>>> theirs: line 1", kBase[1], row("c", "salmon")}));
  RunResult status = run_kura(d.path(), {"status"});
  REQUIRE_THAT(status.out, Catch::Contains("You are in the middle of a merge"));
  REQUIRE_THAT(status.out, Catch::Contains("conflict: train.jsonl"));
  json sj = json::parse(run_kura(d.path(), {"status", "--json"}).out);
  REQUIRE(sj["merging"] == true);

  // Staged with the markers still in: refused, naming the line.
  ok(d, {"add", "train.jsonl"});
  RunResult early = run_kura(d.path(), {"merge", "--continue"});
  REQUIRE(early.exit_code == 2);
  REQUIRE_THAT(early.err, Catch::Contains("train.jsonl:1: a conflict marker line is left"));
  const std::string resolved = lines({row("a", "trout"), kBase[1], row("c", "salmon")});
  write_file(d / "train.jsonl", resolved);
  let_clock_tick();
  ok(d, {"add", "train.jsonl"});
  RunResult done = run_kura(d.path(), {"merge", "--continue"});
  INFO(done.err);
  REQUIRE(done.exit_code == 0);
  REQUIRE_THAT(done.out, Catch::Contains("Merge branch 'relabel'"));
  REQUIRE(run_kura(d.path(), {"show", "HEAD:train.jsonl"}).out == resolved);
  REQUIRE(run_kura(d.path(), {"status", "--json"}).out.find("\"merging\": false") != std::string::npos);
  REQUIRE(run_kura(d.path(), {"fsck"}).exit_code == 0);
}

TEST_CASE("cli: merge conflicts in JSON, --theirs takes a side, --abort restores", "[merge][cli]") {
  TempDir d;
  fork(d, lines({kBase[0], row("b", "penguin", "linux.jpg"), kBase[2]}), lines({kBase[0], row("b", "tux", "windows.jpg"), kBase[2]}));
  RunResult r = run_kura(d.path(), {"merge", "relabel", "--json"});
  REQUIRE(r.exit_code == 1);
  json j = json::parse(r.out);
  REQUIRE(j["result"] == "conflicts");
  REQUIRE(j["commit"].is_null());
  REQUIRE(j["conflicts"].size() == 1);
  const json& c = j["conflicts"][0];
  REQUIRE(c["path"] == "train.jsonl");
  REQUIRE(c["level"] == "rows");
  REQUIRE(c["rows"][0]["merged_line"] == 2);
  REQUIRE(c["rows"][0]["ours_line"] == 2);
  REQUIRE(c["rows"][0]["theirs_images"] == json::array({sha256_hex(data_file("windows.jpg"))}));
  REQUIRE(c["rows"][0]["ours_messages"] == json::array({1}));
  REQUIRE(c["rows"][0]["theirs_messages"] == json::array({0, 1}));  // messages[0] holds the image

  // --abort: the file and the index as before.
  const std::string ours = lines({kBase[0], row("b", "penguin", "linux.jpg"), kBase[2]});
  ok(d, {"merge", "--abort"});
  REQUIRE(read_file(d / "train.jsonl") == ours);
  REQUIRE(json::parse(run_kura(d.path(), {"status", "--json"}).out)["clean"] == true);
  RunResult none = run_kura(d.path(), {"merge", "--abort"});
  REQUIRE(none.exit_code == 2);
  REQUIRE_THAT(none.err, Catch::Contains("no merge is in progress"));

  // Again, and take theirs whole.
  REQUIRE(run_kura(d.path(), {"merge", "relabel"}).exit_code == 1);
  ok(d, {"checkout", "--theirs", "--", "train.jsonl"});
  const std::string theirs = lines({kBase[0], row("b", "tux", "windows.jpg"), kBase[2]});
  REQUIRE(read_file(d / "train.jsonl") == theirs);
  ok(d, {"merge", "--continue", "-m", "take theirs"});
  REQUIRE(run_kura(d.path(), {"show", "HEAD:train.jsonl"}).out == theirs);
  json log = json::parse(run_kura(d.path(), {"log", "--json", "-n", "1"}).out);
  REQUIRE(log[0]["parents"].size() == 2);
  REQUIRE(json::parse(run_kura(d.path(), {"status", "--json"}).out)["clean"] == true);
}

TEST_CASE("cli: merge names what it needs and refuses a second merge", "[merge][cli]") {
  TempDir d;
  fork(d, lines({row("a", "carp"), kBase[1], kBase[2]}), lines({row("a", "trout"), kBase[1], kBase[2]}));
  RunResult none = run_kura(d.path(), {"merge"});
  REQUIRE(none.exit_code == 2);
  REQUIRE_THAT(none.err, Catch::Contains("name what to merge"));
  REQUIRE(run_kura(d.path(), {"merge", "relabel"}).exit_code == 1);
  RunResult again = run_kura(d.path(), {"merge", "relabel"});
  REQUIRE(again.exit_code == 2);
  REQUIRE_THAT(again.err, Catch::Contains("a merge of 'relabel' is in progress"));
  REQUIRE(run_kura(d.path(), {"merge", "nosuch"}).exit_code == 2);
}
