// The tracked policy (kura-checks.json), hand exclusions
// (kura-exclusions.jsonl) and checks of some files against the other split,
// on real images and real JSONL in a real repository.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "kura/error.hpp"
#include "repo/fixture.hpp"

using namespace kura;
using namespace kura::test;

namespace {

std::string check_image(const std::string& name) { return read_file(data_path("") / "../check/data" / name); }

std::string row(const std::string& image_bytes, const std::string& label) {
  return R"({"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,)" +
         base64(image_bytes) + R"("}}]},{"role":"assistant","content":")" + label + R"("}]})";
}

CheckReport check(RepoFixture& f, CheckScope scope = CheckScope::kWorkingFolder, const std::string& rev = "",
                  const std::vector<std::string>& paths = {}) {
  CheckOptions o;
  o.policy = f.repo->policy_for(scope, rev);
  o.policy.detect_faces = false;
  return f.repo->check(scope, rev, paths, o);
}

size_t count(const CheckReport& r, const std::string& rule, const std::string& path = "", uint64_t line = 0) {
  size_t n = 0;
  for (const auto& x : r.findings)
    if (x.rule == rule && (path.empty() || (x.path == path && x.line == line))) ++n;
  return n;
}

void commit(RepoFixture& f, const std::string& message) {
  f.add_all();
  CommitOptions o;
  o.message = message;
  f.repo->commit(o);
}

}  // namespace

TEST_CASE("the tracked kura-checks.json decides, per scope, and .kura/checks.json overrides it key by key",
          "[check][curation]") {
  RepoFixture f;
  f.write("train.jsonl", text_rows(10, "word") + row(check_image("cmyk.jpg"), "cmyk") + "\n");
  REQUIRE(count(check(f), "image.bad_color_mode") == 1);
  REQUIRE_FALSE(check(f).ok());

  f.write(kPolicyFile, R"({"rules": {"image.bad_color_mode": "warn"}, "min_examples": 5})");
  CheckReport tracked = check(f);
  REQUIRE(tracked.ok());
  REQUIRE(f.repo->policy().sources == std::vector<std::string>{kPolicyFile});
  commit(f, "cmyk allowed by the tracked policy");  // the staged policy is the one a commit uses
  REQUIRE(f.repo->commit_report("HEAD")->ok());

  // The working copy changes; the index and HEAD keep theirs.
  f.write(kPolicyFile, R"({"rules": {"image.bad_color_mode": "error"}})");
  REQUIRE_FALSE(check(f).ok());
  REQUIRE(check(f, CheckScope::kIndex).ok());
  REQUIRE(check(f, CheckScope::kRevision, "HEAD").ok());
  REQUIRE(f.repo->policy_for(CheckScope::kRevision, "HEAD").min_examples == 5);

  // The local override: its keys win, the tracked file's other keys stay.
  f.write(".kura/checks.json", R"({"rules": {"image.bad_color_mode": "off"}})");
  const Policy layered = f.repo->policy_for(CheckScope::kRevision, "HEAD");
  REQUIRE(layered.sources == std::vector<std::string>{"kura-checks.json (in HEAD)", ".kura/checks.json"});
  REQUIRE(layered.min_examples == 5);
  REQUIRE(layered.action("image.bad_color_mode") == RuleAction::kOff);
  REQUIRE(count(check(f), "image.bad_color_mode") == 0);

  // A bad tracked policy names itself and the key, in the scope it is in.
  f.write(kPolicyFile, R"({"max_tokens": "many"})");
  REQUIRE_THROWS_WITH(f.repo->policy(), Catch::Contains("kura-checks.json") && Catch::Contains("max_tokens"));
  f.add_all();
  REQUIRE_THROWS_WITH(f.repo->policy_for(CheckScope::kIndex), Catch::Contains("kura-checks.json (staged)"));
}

TEST_CASE("a hand exclusion follows its row, downgrades its findings, goes stale when the row changes",
          "[check][curation]") {
  RepoFixture f;
  const std::string cmyk = row(check_image("cmyk.jpg"), "cmyk");
  f.write("train.jsonl", text_rows(10, "word") + cmyk + "\n");
  REQUIRE_FALSE(check(f).ok());

  auto changes = exclude(f.dir.path(), {{"train.jsonl", 11, {}}}, "scanned in CMYK; re-scan pending");
  REQUIRE(changes.size() == 1);
  REQUIRE(changes[0].action == "excluded");
  REQUIRE(changes[0].entry.row.size() == 64);
  CheckReport r = check(f);
  REQUIRE(r.ok());
  REQUIRE(r.excludes("train.jsonl", 11));
  REQUIRE(count(r, "curation.excluded", "train.jsonl", 11) == 1);
  for (const auto& x : r.findings)
    if (x.line == 11) {
      REQUIRE(x.excluded);
      REQUIRE(x.severity != Severity::kError);
    }
  // Excluding it again changes nothing.
  REQUIRE(exclude(f.dir.path(), {{"train.jsonl", 11, {}}}, "again")[0].action == "already excluded");

  // A line inserted above: the exclusion moves with the row.
  f.write("train.jsonl", text_rows(1, "first") + text_rows(10, "word") + cmyk + "\n");
  r = check(f);
  REQUIRE(r.ok());
  REQUIRE(r.excludes("train.jsonl", 12));
  REQUIRE_FALSE(r.excludes("train.jsonl", 11));
  REQUIRE(list_exclusions(f.dir.path())[0].lines_now == std::vector<uint64_t>{12});

  // The row itself edited: the exclusion no longer applies, and says so.
  const std::string edited = row(check_image("cmyk.jpg"), "a CMYK picture");
  f.write("train.jsonl", text_rows(1, "first") + text_rows(10, "word") + edited + "\n");
  r = check(f);
  REQUIRE_FALSE(r.ok());
  REQUIRE(count(r, "curation.stale_exclusion", kExclusionsFile, 1) == 1);

  // include takes the line back; the file keeps what is left, in order.
  f.write("train.jsonl", text_rows(1, "first") + text_rows(10, "word") + cmyk + "\n");
  REQUIRE(check(f).ok());
  REQUIRE(include(f.dir.path(), {{"train.jsonl", 12, {}}})[0].action == "included");
  REQUIRE_FALSE(check(f).ok());
  REQUIRE(include(f.dir.path(), {{"train.jsonl", 12, {}}})[0].action == "not excluded");
  REQUIRE(read_file(f.dir / kExclusionsFile).empty());
}

TEST_CASE("exclusions: image files by path, bad targets refused, bad lines named", "[check][curation]") {
  RepoFixture f;
  f.write("train.jsonl", text_rows(10, "word"));
  f.write("photos/cmyk.jpg", check_image("cmyk.jpg"));
  REQUIRE_FALSE(check(f).ok());
  exclude(f.dir.path(), {{"photos/cmyk.jpg", 0, {}}}, "print scan");
  CheckReport r = check(f);
  REQUIRE(r.ok());
  REQUIRE(r.excludes("photos/cmyk.jpg", 0));

  REQUIRE_THROWS_WITH(exclude(f.dir.path(), {{"train.jsonl", 0, {}}}, "x"), Catch::Contains("train.jsonl:LINE"));
  REQUIRE_THROWS_WITH(exclude(f.dir.path(), {{"train.jsonl", 99, {}}}, "x"), Catch::Contains("has 10 lines"));
  REQUIRE_THROWS_WITH(exclude(f.dir.path(), {{"nope.jsonl", 1, {}}}, "x"), Catch::Contains("'nope.jsonl' does not exist"));
  REQUIRE_THROWS_WITH(exclude(f.dir.path(), {{"photos", 0, {}}}, "x"), Catch::Contains("is a folder"));
  REQUIRE_THROWS_WITH(exclude(f.dir.path(), {{"train.jsonl", 1, {}}}, " "), Catch::Contains("--reason"));
  REQUIRE_THROWS_WITH(exclude(f.dir.path(), {{"photos/cmyk.jpg", 3, {}}}, "x"), Catch::Contains("not a JSONL file"));
  const std::string before = read_file(f.dir / kExclusionsFile);

  // Hand-edited lines: each bad one is an error naming line and field; the tools refuse to edit.
  f.write(kExclusionsFile, before + "{\"path\": \"train.jsonl\", \"line\": 0, \"reason\": \"x\"}\n" +
                               "{\"path\": \"../outside.jsonl\", \"line\": 2, \"reason\": \"x\"}\n" +
                               "{\"path\": \"train.jsonl\", \"line\": 3}\n" + "not json\n" +
                               "{\"path\": \"train.jsonl\", \"line\": 4, \"reason\": \"x\", \"who\": \"me\"}\n");
  r = check(f);
  REQUIRE_FALSE(r.ok());
  REQUIRE(count(r, "curation.bad_exclusion") == 5);
  for (uint64_t line = 2; line <= 6; ++line) REQUIRE(count(r, "curation.bad_exclusion", kExclusionsFile, line) == 1);
  std::string messages;
  for (const auto& x : r.findings) messages += x.message + "\n";
  REQUIRE_THAT(messages, Catch::Contains("\"line\"") && Catch::Contains("\"path\"") && Catch::Contains("\"reason\"") &&
                             Catch::Contains("\"who\"") && Catch::Contains("not valid JSON"));
  REQUIRE_THROWS_WITH(exclude(f.dir.path(), {{"train.jsonl", 1, {}}}, "x"), Catch::Contains("kura-exclusions.jsonl:2"));
  REQUIRE(read_file(f.dir / kExclusionsFile).find("who") != std::string::npos);  // untouched
}

TEST_CASE("a commit honours the staged exclusions, and the report stored with it records them", "[check][curation]") {
  RepoFixture f;
  f.write("train.jsonl", text_rows(10, "word") + row(check_image("cmyk.jpg"), "cmyk") + "\n");
  f.add_all();
  CommitOptions o;
  o.message = "blocked";
  REQUIRE_THROWS(f.repo->commit(o));
  exclude(f.dir.path(), {{"train.jsonl", 11, {}}}, "CMYK scan");
  REQUIRE_THROWS(f.repo->commit(o));  // not staged yet: the index has no exclusion
  commit(f, "cmyk excluded by hand");
  auto stored = f.repo->commit_report("HEAD");
  REQUIRE(stored);
  REQUIRE(stored->excludes("train.jsonl", 11));
  REQUIRE(f.repo->report_for("HEAD", 1).excludes("train.jsonl", 11));
  // kura's own file is not data: no JSONL rule looked at it.
  for (const auto& x : stored->findings) REQUIRE(x.path != kExclusionsFile);
}

TEST_CASE("a check of one split compares it with the other for leakage, and reports only the checked file",
          "[check][curation]") {
  RepoFixture f;
  f.write("train.jsonl", text_rows(10, "word") + row(data_file("fish.jpg"), "fish") + "\n" + "{broken\n");
  f.write("validation.jsonl", row(data_file("linux.jpg"), "logo") + "\n" + row(data_file("fish.jpg"), "fish") + "\n");
  for (CheckScope scope : {CheckScope::kWorkingFolder, CheckScope::kIndex}) {
    if (scope == CheckScope::kIndex) f.add_all();
    CheckReport r = check(f, scope, "", {(f / "validation.jsonl").string()});
    INFO(r.to_json().dump(1));
    REQUIRE(count(r, "dataset.leakage", "validation.jsonl", 2) == 1);
    REQUIRE(count(r, "dataset.leakage") == 1);
    REQUIRE(count(r, "jsonl.invalid_json") == 0);  // train.jsonl is compared with, not checked
    REQUIRE(r.summary.files == 1);
    REQUIRE(r.summary.examples == 2);
  }
  // Only the training file checked: the leak is reported there, naming the validation line.
  CheckReport r = check(f, CheckScope::kWorkingFolder, "", {(f / "train.jsonl").string()});
  REQUIRE(count(r, "dataset.leakage", "train.jsonl", 11) == 1);
  REQUIRE(count(r, "jsonl.invalid_json", "train.jsonl", 12) == 1);
  for (const auto& x : r.findings) REQUIRE(x.path == "train.jsonl");
}
