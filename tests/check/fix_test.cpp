// kura fix through the library: each problem image is repaired, the check
// engine no longer reports it, the pixels are right, renamed files are
// followed by the rows that name them, and every other byte stays as it was.
#include <catch2/catch.hpp>

#include <set>

#include "check/make_images.hpp"
#include "kura/error.hpp"
#include "kura/fix.hpp"
#include "repo/fixture.hpp"
#include "util/base64.hpp"

using namespace kura;
using namespace kura::test;

namespace {

std::string image_row(const std::string& url, const std::string& label) {
  return R"({"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":")" +
         url + R"(","detail":"low"}}]},{"role":"assistant","content":")" + label + R"("}]})";
}

std::string data_url(const std::string& bytes, const std::string& type) {
  return "data:image/" + type + ";base64," + base64(bytes);
}

FixReport fix(RepoFixture& f, bool dry_run = false, const std::vector<std::string>& paths = {}) {
  FixOptions o;
  o.policy = f.repo->policy();
  o.dry_run = dry_run;
  return fix_images(f.dir.path(), f.dir.path(), paths, o);
}

// The rules kura check reports at (path, line).
std::multiset<std::string> rules_at(RepoFixture& f, const std::string& path, uint64_t line = 0) {
  CheckOptions o;
  o.policy = f.repo->policy();
  o.policy.detect_faces = false;
  std::multiset<std::string> out;
  for (const Finding& x : f.repo->check(CheckScope::kWorkingFolder, "", {}, o).findings)
    if (x.path == path && x.line == line) out.insert(x.rule);
  return out;
}

// Every file of the folder (outside .kura/) and its bytes.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    if (it->path().filename() == ".kura") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) out[fs::relative(it->path(), root).string()] = read_file(it->path());
  }
  return out;
}

const FixChange* change_at(const FixReport& r, const std::string& path, uint64_t line = 0) {
  for (const FixChange& c : r.changes)
    if (c.path == path && c.line == line) return &c;
  return nullptr;
}

}  // namespace

TEST_CASE("fix converts a CMYK JPEG to sRGB and the red ink stays red", "[fix]") {
  RepoFixture f;
  f.write("photos/ink.jpg", cmyk_jpeg());
  REQUIRE(rules_at(f, "photos/ink.jpg").count("image.bad_color_mode") == 1);
  const FixReport r = fix(f);
  const FixChange* c = change_at(r, "photos/ink.jpg");
  REQUIRE(c);
  CHECK(c->what == "CMYK JPEG -> sRGB JPEG, 64x48");
  CHECK(c->new_path.empty());
  CHECK(rules_at(f, "photos/ink.jpg").empty());
  const VImage fixed = decode(f.read("photos/ink.jpg"));
  CHECK(fixed.interpretation() == VIPS_INTERPRETATION_sRGB);
  const std::vector<double> px = fixed.getpoint(32, 24);
  REQUIRE(px.size() == 3);
  CHECK(px[0] > 200);  // libvips' CMYK profile gives about (236, 33, 40) for this ink
  CHECK(px[1] < 80);
  CHECK(px[2] < 80);
}

TEST_CASE("fix turns a 16-bit PNG into an 8-bit PNG of the same grey", "[fix]") {
  RepoFixture f;
  f.write("grey16.png", rgb16_png());
  REQUIRE(rules_at(f, "grey16.png").count("image.bad_color_mode") == 1);
  const FixReport r = fix(f);
  REQUIRE(change_at(r, "grey16.png"));
  CHECK(change_at(r, "grey16.png")->what == "16-bit PNG -> sRGB PNG, 40x30");
  CHECK(rules_at(f, "grey16.png").empty());
  const VImage fixed = decode(f.read("grey16.png"));
  CHECK(fixed.format() == VIPS_FORMAT_UCHAR);
  CHECK(fixed.getpoint(5, 5)[0] == Approx(128).margin(1));
}

TEST_CASE("fix applies EXIF orientation 6 to the pixels and the image is upright", "[fix]") {
  RepoFixture f;
  f.write("side.jpg", rotated_jpeg());
  REQUIRE(rules_at(f, "side.jpg").count("image.exif_rotated") == 1);
  const FixReport r = fix(f);
  REQUIRE(change_at(r, "side.jpg"));
  CHECK(change_at(r, "side.jpg")->what == "rotated upright (EXIF orientation 6), 40x60");
  CHECK(rules_at(f, "side.jpg").empty());
  const ImageFacts facts = inspect_image(f.read("side.jpg"));
  CHECK(facts.width == 40);
  CHECK(facts.height == 60);
  CHECK(facts.exif_orientation == 1);
  const VImage fixed = decode(f.read("side.jpg"));
  CHECK(fixed.getpoint(20, 5)[0] > 200);  // the stored left half is now the top
  CHECK(fixed.getpoint(20, 55)[0] < 50);
}

TEST_CASE("fix scales a PNG over max_image_bytes down until it is under", "[fix]") {
  RepoFixture f;
  const std::string big = noise_png(300);  // about 270 kB of noise
  f.write("kura-checks.json", R"({"max_image_bytes": 100000})");
  f.write("noise.png", big);
  REQUIRE(big.size() > 100000);
  REQUIRE(rules_at(f, "noise.png").count("image.too_large") == 1);
  const FixReport r = fix(f);
  const FixChange* c = change_at(r, "noise.png");
  REQUIRE(c);
  CHECK_THAT(c->what, Catch::StartsWith("0.") && Catch::Contains("scaled down from 300x300"));
  CHECK(c->bytes_before == big.size());
  const std::string fixed = f.read("noise.png");
  CHECK(fixed.size() <= 100000);
  CHECK(c->bytes_after == fixed.size());
  CHECK(rules_at(f, "noise.png").empty());
  const ImageFacts facts = inspect_image(fixed);
  CHECK(facts.format == ImageFormat::kPng);
  CHECK(facts.width < 300);
  CHECK(facts.width > 100);  // scaled in a few steps aimed under the limit, not halved blindly
}

TEST_CASE("fix converts a GIF to PNG and rewrites the rows that name it by path", "[fix]") {
  RepoFixture f;
  const std::string other = text_rows(10);
  const std::string named = image_row("../photos/pic.gif", "red");
  f.write("photos/pic.gif", red_gif());
  f.write("data/train.jsonl", other + named + "\n" + other);
  f.write("kura-exclusions.jsonl", R"({"path":"photos/pic.gif","reason":"a test"})" "\n");
  REQUIRE(rules_at(f, "photos/pic.gif").count("image.unsupported_format") == 1);
  const FixReport r = fix(f);
  const FixChange* c = change_at(r, "photos/pic.gif");
  REQUIRE(c);
  CHECK(c->new_path == "photos/pic.png");
  CHECK(c->what == "GIF -> PNG, 32x24");
  CHECK_FALSE(fs::exists(f / "photos/pic.gif"));
  REQUIRE(fs::exists(f / "photos/pic.png"));
  CHECK(inspect_image(f.read("photos/pic.png")).format == ImageFormat::kPng);
  CHECK(decode(f.read("photos/pic.png")).getpoint(3, 3)[0] == Approx(200).margin(2));
  // Only the path string changed, in the data and in the exclusions.
  CHECK(f.read("data/train.jsonl") == other + image_row("../photos/pic.png", "red") + "\n" + other);
  CHECK(f.read("kura-exclusions.jsonl") == R"({"path":"photos/pic.png","reason":"a test"})" "\n");
  const FixChange* row = change_at(r, "data/train.jsonl", 11);
  REQUIRE(row);
  CHECK(row->what == "image path '../photos/pic.gif' -> '../photos/pic.png'");
  CHECK(r.removed == std::vector<std::string>{"photos/pic.gif"});
  const auto now = rules_at(f, "photos/pic.png");
  CHECK(now.count("image.unsupported_format") == 0);
  CHECK(now.count("image.bad_color_mode") == 0);
  CHECK(now.count("curation.excluded") == 1);  // the exclusion followed the file
  CHECK(rules_at(f, "data/train.jsonl", 11).empty());
}

TEST_CASE("fix re-encodes inline images inside their data URL and keeps every other byte", "[fix]") {
  RepoFixture f;
  const std::string head = text_rows(10);
  // A CRLF line, and one with no final line break: both must survive.
  const std::string crlf = R"({"messages":[{"role":"user","content":"crlf"},{"role":"assistant","content":"kept"}]})";
  const std::string cmyk_line = image_row(data_url(cmyk_jpeg(), "jpeg"), "ink");
  const std::string gif_line = image_row(data_url(red_gif(), "gif"), "gif");
  const std::string rotated_line = image_row(data_url(rotated_jpeg(), "jpeg"), "side");
  const std::string wrong_type = image_row(data_url(rgb16_png(), "jpeg"), "grey");
  const std::string text = head + crlf + "\r\n" + cmyk_line + "\n" + gif_line + "\n" + rotated_line + "\n" + wrong_type;
  f.write("train.jsonl", text);
  REQUIRE(rules_at(f, "train.jsonl", 12).count("image.bad_color_mode") == 1);
  REQUIRE(rules_at(f, "train.jsonl", 13).count("image.unsupported_format") == 1);
  REQUIRE(rules_at(f, "train.jsonl", 14).count("image.exif_rotated") == 1);
  REQUIRE(rules_at(f, "train.jsonl", 15).count("image.mime_mismatch") == 1);

  const FixReport r = fix(f);
  REQUIRE(change_at(r, "train.jsonl", 12));
  CHECK(change_at(r, "train.jsonl", 12)->where() == "train.jsonl:12 message 0 part 1");
  CHECK(change_at(r, "train.jsonl", 12)->what == "CMYK JPEG -> sRGB JPEG, 64x48");
  CHECK(change_at(r, "train.jsonl", 13)->what == "GIF -> PNG, 32x24, data URL type image/gif -> image/png");
  CHECK(change_at(r, "train.jsonl", 15)->what ==
        "16-bit PNG -> sRGB PNG, 40x30, data URL type image/jpeg -> image/png");
  for (uint64_t line = 12; line <= 15; ++line) {
    INFO("line " << line);
    CHECK(rules_at(f, "train.jsonl", line).empty());
  }

  // Line by line: untouched lines byte for byte; changed lines differ only
  // inside the URL string.
  const std::string after = f.read("train.jsonl");
  REQUIRE(after.substr(0, head.size() + crlf.size() + 2) == head + crlf + "\r\n");
  const std::string prefix = R"({"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":")";
  size_t at = head.size() + crlf.size() + 2;
  for (const std::string label : {"ink", "gif", "side", "grey"}) {
    INFO(label);
    const size_t nl = after.find('\n', at);
    const std::string line = after.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    const std::string suffix = R"(","detail":"low"}}]},{"role":"assistant","content":")" + std::string(label) + R"("}]})";
    REQUIRE(line.substr(0, prefix.size()) == prefix);
    REQUIRE(line.size() > prefix.size() + suffix.size());
    CHECK(line.substr(line.size() - suffix.size()) == suffix);
    const std::string url = line.substr(prefix.size(), line.size() - prefix.size() - suffix.size());
    CHECK(url.find('"') == std::string::npos);
    if (std::string(label) == "side") {
      CHECK(url.rfind("data:image/jpeg;base64,", 0) == 0);
      const auto bytes = base64_decode_canonical(url.substr(url.find(',') + 1));
      REQUIRE(bytes);
      const ImageFacts facts = inspect_image(*bytes);
      CHECK(facts.width == 40);
      CHECK(facts.height == 60);
      CHECK(facts.exif_orientation == 1);
    }
    at = nl == std::string::npos ? after.size() : nl + 1;
  }
  CHECK(after.back() == '}');  // still no final line break
}

TEST_CASE("fix --dry-run describes the fixes and writes nothing", "[fix]") {
  RepoFixture f;
  f.write("photos/ink.jpg", cmyk_jpeg());
  f.write("photos/pic.gif", red_gif());
  f.write("train.jsonl", text_rows(10) + image_row("photos/pic.gif", "red") + "\n" +
                             image_row(data_url(cmyk_jpeg(), "jpeg"), "ink") + "\n");
  const auto before = snapshot(f.dir.path());
  const FixReport r = fix(f, /*dry_run=*/true);
  CHECK(r.dry_run);
  CHECK(r.changes.size() == 4);  // two files, one inline image, one path
  CHECK(r.written == std::vector<std::string>{"photos/ink.jpg", "photos/pic.png", "train.jsonl"});
  CHECK(r.removed == std::vector<std::string>{"photos/pic.gif"});
  CHECK(snapshot(f.dir.path()) == before);
}

TEST_CASE("fix refuses to rename an image onto a file that exists and names both", "[fix]") {
  RepoFixture f;
  f.write("photos/pic.gif", red_gif());
  f.write("photos/pic.png", encode(solid(8, 8, {1, 2, 3}), ".png"));
  f.write("photos/ink.jpg", cmyk_jpeg());
  const auto before = snapshot(f.dir.path());
  try {
    (void)fix(f);
    FAIL("fix renamed over an existing file");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kConflict);
    CHECK_THAT(std::string(e.what()), Catch::Contains("photos/pic.gif") && Catch::Contains("photos/pic.png") &&
                                          Catch::Contains("already exists"));
  }
  CHECK(snapshot(f.dir.path()) == before);  // the CMYK JPEG was not fixed either
}

TEST_CASE("fix leaves a truncated image alone and says why", "[fix]") {
  RepoFixture f;
  const std::string jpeg = cmyk_jpeg();
  f.write("cut.jpg", jpeg.substr(0, jpeg.size() / 2));
  const FixReport r = fix(f);
  CHECK(r.changes.empty());
  REQUIRE(r.skipped.size() == 1);
  CHECK(r.skipped[0].path == "cut.jpg");
  CHECK_THAT(r.skipped[0].reason, Catch::StartsWith("image.corrupt: ") && Catch::Contains("cannot repair"));
  CHECK(f.read("cut.jpg") == jpeg.substr(0, jpeg.size() / 2));
}

TEST_CASE("fix converts a BMP to PNG and untrusted loaders stay blocked for the checks", "[fix]") {
  RepoFixture f;
  const std::string bmp = read_file(data_path("../check/data/colormap.bmp"));
  f.write("scan.bmp", bmp);
  const FixReport r = fix(f);
  const FixChange* c = change_at(r, "scan.bmp");
  REQUIRE(c);
  CHECK(c->new_path == "scan.png");
  CHECK_THAT(c->what, Catch::StartsWith("BMP -> PNG, "));
  const ImageFacts png = inspect_image(f.read("scan.png"));
  CHECK(png.format == ImageFormat::kPng);
  CHECK(png.decodes);
  CHECK_FALSE(fs::exists(f / "scan.bmp"));
  CHECK_FALSE(inspect_image(bmp).decodes);  // ImageMagick was allowed for the repair only
}

TEST_CASE("fix of one path leaves the images outside it alone", "[fix]") {
  RepoFixture f;
  f.write("a/ink.jpg", cmyk_jpeg());
  f.write("b/ink.jpg", cmyk_jpeg());
  const std::string untouched = f.read("b/ink.jpg");
  const FixReport r = fix(f, false, {"a"});
  REQUIRE(r.changes.size() == 1);
  CHECK(r.changes[0].path == "a/ink.jpg");
  CHECK(f.read("b/ink.jpg") == untouched);
}

TEST_CASE("a hand exclusion of a line whose inline image fix re-encodes follows the new row", "[fix]") {
  RepoFixture f;
  f.write("train.jsonl", text_rows(10) + image_row(data_url(cmyk_jpeg(), "jpeg"), "ink") + "\n");
  const std::vector<ExclusionChange> excluded = exclude(f.dir.path(), {{"train.jsonl", 11, {}}}, "a test");
  REQUIRE(excluded.size() == 1);
  const std::string old_row = excluded[0].entry.row;
  REQUIRE(old_row.size() == 64);
  const FixReport r = fix(f);
  const FixChange* c = change_at(r, kExclusionsFile, 1);
  REQUIRE(c);
  CHECK(c->what == "the exclusion follows its row in train.jsonl: row " + old_row.substr(0, 12) + " -> " +
                       list_exclusions(f.dir.path())[0].entry.row.substr(0, 12));
  const auto listed = list_exclusions(f.dir.path());
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].entry.row != old_row);
  CHECK(listed[0].lines_now == std::vector<uint64_t>{11});
  const auto at = rules_at(f, "train.jsonl", 11);
  CHECK(at.count("curation.excluded") == 1);
  CHECK(at.count("image.bad_color_mode") == 0);
  CHECK(rules_at(f, kExclusionsFile, 1).empty());  // not stale
}
