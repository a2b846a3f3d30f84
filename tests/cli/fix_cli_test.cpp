// kura fix driven like a user: --dry-run and --json, the text report, the
// check that passes afterwards, nothing staged, and the refusal (exit 2)
// to rename an image onto a file that exists.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "check/make_images.hpp"
#include "support.hpp"

using namespace kura::test;
using nlohmann::json;

namespace {

std::string path_row(const std::string& path) {
  return R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":")" + path +
         R"("}}]},{"role":"assistant","content":"red"}]})" "\n";
}

RunResult ok(const fs::path& dir, const std::vector<std::string>& args) {
  RunResult r = run_kura(dir, args);
  INFO(args[0] << ": " << r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return r;
}

}  // namespace

TEST_CASE("cli: kura fix converts a GIF that a row names and kura check passes afterwards", "[cli][fix]") {
  TempDir d;
  write_file(d / "photos/pic.gif", red_gif());
  write_file(d / "photos/ink.jpg", cmyk_jpeg());
  write_file(d / "train.jsonl", text_rows(10) + path_row("photos/pic.gif"));
  write_file(d / "kura-checks.json", R"({"detect_faces": false})");
  ok(d.path(), {"init"});
  REQUIRE(run_kura(d.path(), {"check"}).exit_code == 1);

  const RunResult dry = ok(d.path(), {"fix", "--dry-run", "--json"});
  const json planned = json::parse(dry.out);
  CHECK(planned["dry_run"] == true);
  REQUIRE(planned["changes"].size() == 3);
  CHECK(planned["changes"][1]["path"] == "photos/pic.gif");
  CHECK(planned["changes"][1]["new_path"] == "photos/pic.png");
  CHECK(planned["changes"][1]["rules"] == json{"image.unsupported_format", "image.bad_color_mode"});
  CHECK(planned["changes"][2]["line"] == 11);
  CHECK(planned["removed"] == json{"photos/pic.gif"});
  CHECK(fs::exists(d / "photos/pic.gif"));
  CHECK_FALSE(fs::exists(d / "photos/pic.png"));

  const RunResult done = ok(d.path(), {"fix"});
  CHECK_THAT(done.out, Catch::Contains("photos/ink.jpg: CMYK JPEG -> sRGB JPEG, 64x48\n") &&
                           Catch::Contains("photos/pic.gif -> photos/pic.png: GIF -> PNG, 32x24\n") &&
                           Catch::Contains("train.jsonl:11 message 0 part 0: image path 'photos/pic.gif' -> 'photos/pic.png'\n") &&
                           Catch::Contains("nothing is staged"));
  CHECK(read_file(d / "train.jsonl") == text_rows(10) + path_row("photos/pic.png"));
  CHECK_FALSE(fs::exists(d / "photos/pic.gif"));

  const RunResult checked = run_kura(d.path(), {"check", "--json"});
  INFO(checked.out << checked.err);
  CHECK(checked.exit_code == 0);
  const RunResult status = ok(d.path(), {"status", "--json"});
  CHECK(json::parse(status.out)["staged"].empty());

  CHECK(ok(d.path(), {"fix"}).out == "nothing to fix\n");
}

TEST_CASE("cli: kura fix refuses with exit 2 to rename an image onto an existing file", "[cli][fix]") {
  TempDir d;
  write_file(d / "a.gif", red_gif());
  write_file(d / "a.png", encode(solid(8, 8, {1, 2, 3}), ".png"));
  const RunResult r = run_kura(d.path(), {"fix"});  // outside a repository: the current folder
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("cannot rename a.gif to a.png") && Catch::Contains("a.png already exists"));
  CHECK(fs::exists(d / "a.gif"));
}
