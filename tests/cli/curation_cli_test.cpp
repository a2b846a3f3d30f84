// The tracked policy and hand exclusions driven like a user: a clone checks
// as its origin does, kura exclude / include in text and JSON, export and
// diff see the exclusion, and the git hook finds leakage against the
// committed training file when only validation is staged.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support.hpp"

using namespace kura::test;
using nlohmann::json;

namespace {

std::string row(const std::string& image, const std::string& label) {
  return R"({"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,)" +
         base64(image) + R"("}}]},{"role":"assistant","content":")" + label + R"("}]})" + "\n";
}

std::string cmyk() { return read_file(data_path("../check/data/cmyk.jpg")); }

RunResult ok(const fs::path& dir, const std::vector<std::string>& args) {
  RunResult r = run_kura(dir, args);
  INFO(args[0] << ": " << r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return r;
}

}  // namespace

TEST_CASE("cli: a clone checks with the policy committed at its origin, and the local override says so",
          "[cli][check][curation]") {
  TempDir d;
  const fs::path origin = d / "origin", clone = d / "clone";
  fs::create_directories(origin);
  write_file(origin / "train.jsonl", text_rows(10) + row(cmyk(), "cmyk"));
  ok(origin, {"init"});
  ok(origin, {"add", "."});
  RunResult blocked = run_kura(origin, {"commit", "-m", "cmyk"});
  REQUIRE(blocked.exit_code == 1);
  REQUIRE_THAT(blocked.err, Catch::Contains("kura exclude") && Catch::Contains("kura-checks.json"));
  write_file(origin / "kura-checks.json", R"({"rules": {"image.bad_color_mode": "warn", "moderation.face": "off"}})");
  ok(origin, {"add", "kura-checks.json"});
  ok(origin, {"commit", "-m", "cmyk is a warning here"});

  ok(origin, {"remote", "add", "origin", (d / "remote").string()});
  ok(origin, {"push", "origin", "main"});
  ok(d.path(), {"clone", (d / "remote").string(), clone.string()});
  REQUIRE(fs::exists(clone / "kura-checks.json"));
  RunResult checked = run_kura(clone, {"check", "--json"});
  INFO(checked.err);
  REQUIRE(checked.exit_code == 0);
  REQUIRE(json::parse(checked.out)["summary"]["warnings"] == 1);
  REQUIRE(checked.err.find("note:") == std::string::npos);
  // Without the tracked file the verdict changes: the policy is what decided.
  fs::rename(clone / "kura-checks.json", clone / "elsewhere.json");
  REQUIRE(run_kura(clone, {"check"}).exit_code == 1);
  fs::rename(clone / "elsewhere.json", clone / "kura-checks.json");
  // A local override is in force, and says so.
  write_file(clone / ".kura/checks.json", R"({"rules": {"image.bad_color_mode": "error"}})");
  RunResult local = run_kura(clone, {"check"});
  REQUIRE(local.exit_code == 1);
  REQUIRE_THAT(local.err, Catch::Contains("note: the local policy .kura/checks.json is in force over kura-checks.json"));
  REQUIRE(run_kura(clone, {"check", "--rev", "HEAD"}).exit_code == 1);
}

TEST_CASE("cli: kura exclude leaves a line out of check, export and the report, diff shows it, and include takes it back",
          "[cli][check][curation]") {
  TempDir d;
  const fs::path repo = d / "data";
  fs::create_directories(repo);
  write_file(repo / "train.jsonl", text_rows(10) + row(cmyk(), "cmyk") + row(data_file("fish.jpg"), "fish"));
  write_file(repo / "kura-checks.json", R"({"rules": {"moderation.face": "off"}})");
  ok(repo, {"init"});
  ok(repo, {"add", "."});
  REQUIRE(run_kura(repo, {"commit", "-m", "x"}).exit_code == 1);

  RunResult missing_reason = run_kura(repo, {"exclude", "train.jsonl:11"});
  REQUIRE(missing_reason.exit_code == 2);
  REQUIRE_THAT(missing_reason.err, Catch::Contains("--reason"));
  RunResult past_end = run_kura(repo, {"exclude", "train.jsonl:40", "--reason", "x"});
  REQUIRE(past_end.exit_code == 2);
  REQUIRE_THAT(past_end.err, Catch::Contains("has 12 lines; there is no line 40"));

  RunResult ex = ok(repo, {"exclude", "train.jsonl:11", "--reason", "CMYK print scan", "--json"});
  json j = json::parse(ex.out);
  REQUIRE(j["changed"] == 1);
  REQUIRE(j["changes"][0]["action"] == "excluded");
  REQUIRE(j["changes"][0]["line"] == 11);
  RunResult text = ok(repo, {"exclude", "train.jsonl:11", "--reason", "again"});
  REQUIRE_THAT(text.out, Catch::Contains("already excluded train.jsonl:11") && Catch::Contains("CMYK print scan"));
  REQUIRE_THAT(ok(repo, {"exclude", "--list"}).out, Catch::Contains("train.jsonl:11: CMYK print scan"));

  ok(repo, {"add", "kura-exclusions.jsonl"});
  ok(repo, {"commit", "-m", "leave the CMYK scan out"});
  RunResult show = ok(repo, {"show", "HEAD", "--json"});
  REQUIRE(json::parse(show.out)["checks"]["excluded_lines"]["train.jsonl"] == json::array({11}));

  ok(repo, {"export", "--format", "openai", (d / "out").string()});
  const std::string exported = read_file(d / "out/train.jsonl");
  REQUIRE(std::count(exported.begin(), exported.end(), '\n') == 11);
  REQUIRE(exported.find("\"cmyk\"") == std::string::npos);
  REQUIRE(exported.find("\"fish\"") != std::string::npos);

  RunResult inc = ok(repo, {"include", "train.jsonl:11"});
  REQUIRE_THAT(inc.out, Catch::Contains("included train.jsonl:11"));
  RunResult diff = ok(repo, {"diff"});
  REQUIRE_THAT(diff.out, Catch::Contains("kura-exclusions.jsonl") && Catch::Contains("CMYK print scan"));
  REQUIRE(run_kura(repo, {"check"}).exit_code == 1);
  ok(repo, {"add", "kura-exclusions.jsonl"});
  REQUIRE(run_kura(repo, {"commit", "-m", "back in"}).exit_code == 1);
}

TEST_CASE("cli: the git hook finds leakage against the committed training file when only validation is staged",
          "[cli][check][curation][git]") {
  TempDir d;
  TempDir home;
  const std::map<std::string, std::string> env = {
      {"KURA", kura_binary()},          {"HOME", home.path().string()},
      {"GIT_AUTHOR_NAME", "T"},         {"GIT_AUTHOR_EMAIL", "t@example.com"},
      {"GIT_COMMITTER_NAME", "T"},      {"GIT_COMMITTER_EMAIL", "t@example.com"}};
  REQUIRE(run(d.path(), {"git", "init", "-q"}, env).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"hook", "install"}).exit_code == 0);
  write_file(d / "kura-checks.json", R"({"rules": {"moderation.face": "off"}})");
  write_file(d / "train.jsonl", text_rows(10) + row(data_file("fish.jpg"), "fish"));
  REQUIRE(run(d.path(), {"git", "add", "."}, env).exit_code == 0);
  auto first = run(d.path(), {"git", "commit", "-q", "-m", "train"}, env);
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);

  write_file(d / "validation.jsonl", row(data_file("linux.jpg"), "logo") + row(data_file("fish.jpg"), "fish"));
  REQUIRE(run(d.path(), {"git", "add", "validation.jsonl"}, env).exit_code == 0);
  auto blocked = run(d.path(), {"git", "commit", "-q", "-m", "validation"}, env);
  REQUIRE(blocked.exit_code != 0);
  REQUIRE_THAT(blocked.out + blocked.err, Catch::Contains("dataset.leakage") && Catch::Contains("train.jsonl line 11"));

  // Excluded by hand (the exclusion is tracked in git too), the commit goes through.
  RunResult ex = run_kura(d.path(), {"exclude", "validation.jsonl:2", "--reason", "same photo as training"}, env);
  REQUIRE(ex.exit_code == 0);
  REQUIRE_THAT(ex.out, Catch::Contains("git add kura-exclusions.jsonl"));
  REQUIRE(run(d.path(), {"git", "add", "validation.jsonl", "kura-exclusions.jsonl"}, env).exit_code == 0);
  auto passed = run(d.path(), {"git", "commit", "-q", "-m", "validation"}, env);
  INFO(passed.out << passed.err);
  REQUIRE(passed.exit_code == 0);
}
