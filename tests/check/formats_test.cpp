// The llava, sharegpt and axolotl profiles on real files: JSONL and .json
// tables naming PNG and JPEG images made here with libvips. A clean file of
// each format passes; each planted problem gives exactly its finding, at the
// line (or array element), turn and field it concerns. Also the image root,
// the generic profile's reading of these formats, and kura's own exports.
#include <vips/vips.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>
#include <tuple>

#include "kura/error.hpp"
#include "repo/fixture.hpp"

using namespace kura;
using namespace kura::test;
using nlohmann::json;

namespace {

std::string source_image(const std::string& name) {
  return read_file(data_path("../check/data") / name);
}

// A 96-pixel copy of tests/check/data/`source`, as `suffix` (".png",
// ".jpg"), in grey when `grey`.
std::string made_image(const std::string& source, const std::string& suffix, bool grey = false) {
  REQUIRE(VIPS_INIT("kura_tests") == 0);
  const std::string in = source_image(source);
  VipsImage* image = nullptr;
  REQUIRE(vips_thumbnail_buffer(const_cast<char*>(in.data()), in.size(), &image, 96, nullptr) == 0);
  if (grey) {
    VipsImage* g = nullptr;
    REQUIRE(vips_colourspace(image, &g, VIPS_INTERPRETATION_B_W, nullptr) == 0);
    g_object_unref(image);
    image = g;
  }
  void* buf = nullptr;
  size_t len = 0;
  REQUIRE(vips_image_write_to_buffer(image, suffix.c_str(), &buf, &len, nullptr) == 0);
  std::string out(static_cast<char*>(buf), len);
  g_free(buf);
  g_object_unref(image);
  return out;
}

// images/a.png, b.jpg, c.png, d.png, e.jpg under `dir`: five distinct
// pictures, 8-bit RGB.
void write_images(const fs::path& dir) {
  write_file(dir / "images/a.png", made_image("fruits.jpg", ".png"));
  write_file(dir / "images/b.jpg", made_image("building.jpg", ".jpg"));
  write_file(dir / "images/c.png", made_image("home.jpg", ".png"));
  write_file(dir / "images/d.png", made_image("baboon.jpg", ".png"));
  write_file(dir / "images/e.jpg", made_image("video-001.jpg", ".jpg"));
}

// images/grey.png (made grey) and images/cmyk.jpg (a real CMYK JPEG).
void write_bad_images(const fs::path& dir) {
  write_file(dir / "images/grey.png", made_image("branches.jpg", ".png", /*grey=*/true));
  write_file(dir / "images/cmyk.jpg", source_image("cmyk.jpg"));
}

CheckReport check(RepoFixture& f, const std::string& profile, const std::function<void(Policy&)>& adjust = {}) {
  CheckOptions o;
  o.policy = f.repo->policy();
  o.policy.profile = profile;
  o.policy.detect_faces = false;  // faces are not what these tests are about
  if (adjust) adjust(o.policy);
  return f.repo->check(CheckScope::kWorkingFolder, "", {}, o);
}

using Where = std::tuple<std::string, std::string, uint64_t, int, int>;  // rule, path, line, message, content

std::set<Where> where_all(const CheckReport& r) {
  std::set<Where> out;
  for (const auto& x : r.findings) out.insert({x.rule, x.path, x.line, x.message_index, x.content_index});
  return out;
}

std::string message_of(const CheckReport& r, const std::string& rule, uint64_t line) {
  for (const auto& x : r.findings)
    if (x.rule == rule && x.line == line) return x.message;
  return "(no " + rule + " at line " + std::to_string(line) + ")";
}

std::string report_text(const CheckReport& r) { return r.to_json().dump(1); }

json llava(const json& image, const std::string& question, const std::string& answer) {
  json j = {{"id", question}};
  if (!image.is_null()) j["image"] = image;
  j["conversations"] = json::array({{{"from", "human"}, {"value", question}}, {{"from", "gpt"}, {"value", answer}}});
  return j;
}

json sharegpt(const json& images, const std::vector<std::pair<std::string, std::string>>& turns) {
  json conv = json::array();
  for (const auto& [from, value] : turns) conv.push_back({{"from", from}, {"value", value}});
  return {{"conversations", conv}, {"images", images}};
}

json axolotl_part_image(const std::string& key, const std::string& value) { return {{"type", "image"}, {key, value}}; }

json axolotl(const json& user_parts, const std::string& answer) {
  return {{"messages", json::array({{{"role", "user"}, {"content", user_parts}},
                                    {{"role", "assistant"}, {"content", answer}}})}};
}

std::string jsonl(const std::vector<json>& rows) {
  std::string out;
  for (const auto& r : rows) out += r.dump() + "\n";
  return out;
}

}  // namespace

TEST_CASE("a clean LLaVA json array passes the llava profile", "[check][formats]") {
  RepoFixture f;
  write_images(f.dir.path());
  json data = json::array({llava("images/a.png", "<image>\nWhat fruit is this?", "An apple."),
                           llava(json::array({"images/b.jpg", "images/c.png"}), "<image>\n<image>\nWhich is older?",
                                 "The first."),
                           llava(nullptr, "How many legs has a cat?", "Four.")});
  f.write("llava.json", data.dump(2));
  f.write("dataset_info.json", R"({"mine": {"file_name": "llava.json"}})");  // an object: not a table
  CheckReport r = check(f, "llava");
  INFO(report_text(r));
  REQUIRE(r.findings.empty());
  REQUIRE(r.summary.examples == 3);
  REQUIRE(r.summary.images == 5);  // a, b, c as used, and d, e as files of the folder
}

TEST_CASE("planted problems in a LLaVA file are found at their array element", "[check][formats]") {
  RepoFixture f;
  write_images(f.dir.path());
  write_bad_images(f.dir.path());
  json data = json::array({
      llava("images/a.png", "<image>\nWhat fruit is this?", "An apple."),        // element 1: clean
      llava("images/grey.png", "<image>\nWhat is this?", "Branches."),          // 2: grey image
      llava("images/nope.png", "<image>\nAnd this?", "Nothing."),               // 3: missing image
      llava("images/b.jpg", "<image>\n<image>\nTwo?", "One."),                  // 4: two tokens, one image
      llava("images/c.png", "What is this?", "A house."),                       // 5: no token
  });
  data.push_back(json::parse(R"({"id": "6", "image": "images/d.png", "conversations": [
      {"from": "gpt", "value": "A monkey."}, {"from": "human", "value": "<image>\nAnd?"}]})"));  // 6: gpt first
  data.push_back({{"id", "x"}, {"image", "images/a.png"}});  // 7: no conversations
  f.write("data/llava.json", data.dump());  // its image paths are relative to the top: the image root ""
  CheckReport r = check(f, "llava", [](Policy& p) { p.image_root = ""; });
  INFO(report_text(r));
  const std::set<Where> want = {
      {"image.bad_color_mode", "images/grey.png", 0, -1, -1},
      {"image.bad_color_mode", "images/cmyk.jpg", 0, -1, -1},
      {"image.bad_color_mode", "data/llava.json", 2, -1, 0},
      {"image.missing_file", "data/llava.json", 3, -1, 0},
      {"llava.image_token_mismatch", "data/llava.json", 4, -1, -1},
      {"llava.image_token_mismatch", "data/llava.json", 5, -1, -1},
      {"llava.bad_role_order", "data/llava.json", 6, 0, -1},
      {"llava.missing_conversations", "data/llava.json", 7, -1, -1},
  };
  REQUIRE(where_all(r) == want);
  REQUIRE(message_of(r, "image.bad_color_mode", 2).rfind("\"image\": ", 0) == 0);
  REQUIRE(message_of(r, "image.missing_file", 3) ==
          "\"image\": image path 'images/nope.png' names no file in the data set (looked for 'images/nope.png', "
          "under the image root '.')");
  REQUIRE(message_of(r, "llava.image_token_mismatch", 4) == "2 <image> tokens in \"conversations\" but 1 image in \"image\"");
  REQUIRE(message_of(r, "llava.bad_role_order", 6).find("turn 0 is a gpt turn where a human turn must come") !=
          std::string::npos);
  REQUIRE(r.summary.examples == 6);
}

TEST_CASE("a clean ShareGPT jsonl file passes the sharegpt profile", "[check][formats]") {
  RepoFixture f;
  write_images(f.dir.path());
  std::vector<json> rows = {
      sharegpt(json::array({"images/a.png"}), {{"human", "<image>What is this?"}, {"gpt", "Fruit."}}),
      sharegpt(json::array({"images/b.jpg", "images/c.png"}),
               {{"system", "Be brief."}, {"human", "<image><image>Compare."}, {"gpt", "Old and new."},
                {"human", "Sure?"}, {"gpt", "Yes."}}),
      {{"messages", json::array({{{"role", "user"}, {"content", "<image>Name it."}},
                                 {{"role", "assistant"}, {"content", "A building."}}})},
       {"images", json::array({"images/d.png"})}},
  };
  f.write("train.jsonl", jsonl(rows));
  CheckReport r = check(f, "sharegpt");
  INFO(report_text(r));
  REQUIRE(r.findings.empty());
  REQUIRE(r.summary.examples == 3);
}

TEST_CASE("planted problems in a ShareGPT file are found at their line and turn", "[check][formats]") {
  RepoFixture f;
  write_images(f.dir.path());
  write_bad_images(f.dir.path());
  std::vector<json> rows = {
      sharegpt(json::array({"images/a.png"}), {{"human", "<image>What is this?"}, {"gpt", "Fruit."}}),     // 1 clean
      sharegpt(json::array({"images/cmyk.jpg"}), {{"human", "<image>And this?"}, {"gpt", "CMYK."}}),      // 2 cmyk
      sharegpt(json::array({"images/b.jpg", "images/gone.jpg"}),
               {{"human", "<image><image>Two?"}, {"gpt", "Yes."}}),                                         // 3 missing
      sharegpt(json::array({"images/c.png"}), {{"human", "No tag here."}, {"gpt", "Hm."}}),               // 4 mismatch
      sharegpt(json::array({"images/d.png"}),
               {{"human", "<image>One."}, {"human", "Two."}, {"gpt", "Three."}}),                         // 5 order
      sharegpt(json::array(), {{"human", "Hello?"}, {"gpt", "Hi."}, {"human", "Bye?"}}),                  // 6 ends with user
      sharegpt(json::array(), {{"human", "Hello?"}, {"robot", "Beep."}}),                                  // 7 bad turn
      {{"images", "images/a.png"}, {"conversations", 3}},                                                  // 8 no conversations
  };
  f.write("train.jsonl", jsonl(rows));
  CheckReport r = check(f, "sharegpt");
  INFO(report_text(r));
  const std::set<Where> want = {
      {"image.bad_color_mode", "images/grey.png", 0, -1, -1},
      {"image.bad_color_mode", "images/cmyk.jpg", 0, -1, -1},
      {"image.bad_color_mode", "train.jsonl", 2, -1, 0},
      {"image.missing_file", "train.jsonl", 3, -1, 1},
      {"sharegpt.image_token_mismatch", "train.jsonl", 4, -1, -1},
      {"sharegpt.bad_role_order", "train.jsonl", 5, 1, -1},
      {"sharegpt.bad_role_order", "train.jsonl", 6, 2, -1},
      {"sharegpt.bad_turn", "train.jsonl", 7, 1, -1},
      {"sharegpt.missing_conversations", "train.jsonl", 8, -1, -1},
  };
  REQUIRE(where_all(r) == want);
  REQUIRE(message_of(r, "image.bad_color_mode", 2).rfind("\"images\"[0]: ", 0) == 0);
  REQUIRE(message_of(r, "image.bad_color_mode", 2).find("CMYK") != std::string::npos);
  REQUIRE(message_of(r, "image.missing_file", 3) ==
          "\"images\"[1]: image path 'images/gone.jpg' names no file in the data set (looked for 'images/gone.jpg')");
  REQUIRE(message_of(r, "sharegpt.image_token_mismatch", 4) == "0 <image> tokens in \"conversations\" but 1 image in \"images\"");
  REQUIRE(message_of(r, "sharegpt.bad_role_order", 6) == "the example ends with a human turn; it must end with the gpt answer");
}

TEST_CASE("Axolotl messages with image parts pass and their planted problems are found", "[check][formats]") {
  RepoFixture f;
  write_images(f.dir.path());
  write_bad_images(f.dir.path());
  const std::string c_png = read_file(f / "images/c.png");
  std::vector<json> rows = {
      axolotl(json::array({{{"type", "text"}, {"text", "What is this?"}}, axolotl_part_image("path", "images/a.png")}),
              "Fruit."),                                                                                   // 1 clean
      axolotl(json::array({axolotl_part_image("base64", base64(c_png)), {{"type", "text"}, {"text", "And?"}}}),
              "A house."),                                                                                 // 2 clean, inline
      axolotl(json::array({axolotl_part_image("path", "images/grey.png")}), "Grey."),                    // 3 grey
      axolotl(json::array({{{"type", "text"}, {"text", "Look:"}}, axolotl_part_image("path", "images/none.png")}),
              "?"),                                                                                        // 4 missing
      axolotl(json::array({{{"type", "image"}}}), "?"),                                                  // 5 no source
      {{"messages", json::array({{{"role", "user"}, {"content", "Only a question."}}})}},                 // 6 no answer
  };
  f.write("axolotl.jsonl", jsonl(rows));
  CheckReport r = check(f, "axolotl");
  INFO(report_text(r));
  const std::set<Where> want = {
      {"image.bad_color_mode", "images/grey.png", 0, -1, -1},
      {"image.bad_color_mode", "images/cmyk.jpg", 0, -1, -1},
      {"image.bad_color_mode", "axolotl.jsonl", 3, 0, 0},
      {"image.missing_file", "axolotl.jsonl", 4, 0, 1},
      {"axolotl.bad_content_part", "axolotl.jsonl", 5, 0, 0},
      {"axolotl.no_assistant_message", "axolotl.jsonl", 6, -1, -1},
  };
  REQUIRE(where_all(r) == want);
  REQUIRE(message_of(r, "image.missing_file", 4).rfind("messages[0].content[1].path: image path 'images/none.png'", 0) == 0);
  REQUIRE(r.summary.examples == 6);
}

TEST_CASE("the image root comes from the policy or the option and keys the cached results", "[check][formats]") {
  RepoFixture f;
  write_images(f / "media");
  f.write("data/train.jsonl", jsonl({sharegpt(json::array({"images/a.png"}), {{"human", "<image>?"}, {"gpt", "Fruit."}})}));
  {
    CheckReport r = check(f, "sharegpt");  // relative to data/: not there
    INFO(report_text(r));
    REQUIRE(where_all(r) == std::set<Where>{{"image.missing_file", "data/train.jsonl", 1, -1, 0}});
    REQUIRE(message_of(r, "image.missing_file", 1).find("looked for 'data/images/a.png'") != std::string::npos);
  }
  {
    CheckReport r = check(f, "sharegpt", [](Policy& p) { p.image_root = "media"; });  // the same row, now cached
    INFO(report_text(r));
    REQUIRE(r.findings.empty());
  }
  f.write("kura-checks.json", R"({"profile": "sharegpt", "image_root": "media/", "detect_faces": false})");
  REQUIRE(f.repo->policy().image_root == std::optional<std::string>("media"));
  Policy top = f.repo->policy();
  top.image_root = "";
  REQUIRE(f.repo->policy().hash() != top.hash());
  f.close();  // the command line takes the repository's lock
  auto cli = run_kura(f.dir.path(), {"check", "--json"});
  INFO(cli.err << cli.out);
  REQUIRE(cli.exit_code == 0);
  REQUIRE(json::parse(cli.out)["summary"]["errors"] == 0);
  auto moved = run_kura(f.dir.path(), {"check", "--json", "--image-root", "elsewhere"});
  REQUIRE(moved.exit_code == 1);
  REQUIRE(moved.out.find("looked for 'elsewhere/images/a.png', under the image root 'elsewhere'") != std::string::npos);
  auto bad = run_kura(f.dir.path(), {"check", "--image-root", "../outside"});
  REQUIRE(bad.exit_code == 2);
  REQUIRE(bad.err.find("--image-root '../outside' must be a folder inside the data set") != std::string::npos);
  f.reopen();
  f.write("kura-checks.json", R"({"image_root": "/abs"})");
  REQUIRE_THROWS_WITH(f.repo->policy(), Catch::Contains("\"image_root\" must be a folder inside the data set"));
}

TEST_CASE("the generic profile checks the integrity of images that LLaVA and ShareGPT rows name", "[check][formats]") {
  RepoFixture f;
  write_images(f.dir.path());
  write_bad_images(f.dir.path());
  f.write("images/cut.jpg", source_image("truncated.jpg"));
  f.write("images/cut.png", source_image("truncated.png"));
  std::vector<json> rows = {
      llava("images/grey.png", "<image>\nWhat?", "Grey."),        // 1: grey is fine in generic
      llava("images/cut.jpg", "<image>\nWhat?", "Cut."),          // 2: truncated
      llava("images/gone.png", "no token", "Gone."),              // 3: missing (the token mismatch is not generic)
      sharegpt(json::array({"images/cut.png"}), {{"gpt", "<image>"}}),  // 4: truncated; the order is not generic
  };
  f.write("mixed.jsonl", jsonl(rows));
  CheckReport r = check(f, "generic");
  INFO(report_text(r));
  const std::set<Where> want = {
      {"image.corrupt", "images/cut.jpg", 0, -1, -1},
      {"image.corrupt", "images/cut.png", 0, -1, -1},
      {"image.corrupt", "mixed.jsonl", 2, -1, 0},
      {"image.missing_file", "mixed.jsonl", 3, -1, 0},
      {"image.corrupt", "mixed.jsonl", 4, -1, 0},
  };
  REQUIRE(where_all(r) == want);
  REQUIRE(r.summary.examples == 4);
}

TEST_CASE("a .json file that is not JSON is reported under the llava profile and ignored under openai", "[check][formats]") {
  RepoFixture f;
  f.write("broken.json", "[{\"id\": 1,");
  CheckReport r = check(f, "llava");
  REQUIRE(where_all(r) == std::set<Where>{{"jsonl.invalid_json", "broken.json", 0, -1, -1}});
  REQUIRE(check(f, "openai").findings.empty());
}

TEST_CASE("kura export in llava sharegpt and axolotl format passes the check of that profile", "[check][formats][cli]") {
  TempDir dir;
  const fs::path repo = dir / "data";
  write_images(repo);
  std::string train;
  const char* names[] = {"images/a.png", "images/b.jpg", "images/c.png"};
  for (int i = 0; i < 12; ++i) {
    json content = json::array({{{"type", "text"}, {"text", "What is picture " + std::to_string(i) + "?"}},
                                {{"type", "image_url"}, {"image_url", {{"url", names[i % 3]}}}}});
    json messages = json::array({{{"role", "system"}, {"content", "Answer in one word."}},
                                 {{"role", "user"}, {"content", content}},
                                 {{"role", "assistant"}, {"content", "answer" + std::to_string(i)}}});
    train += json({{"messages", messages}}).dump() + "\n";
  }
  write_file(repo / "train.jsonl", train);
  REQUIRE(run_kura(repo, {"init"}).exit_code == 0);
  write_file(repo / ".kura/checks.json", R"({"detect_faces": false, "rules": {"image.near_duplicate": "off"}})");
  let_clock_tick();
  REQUIRE(run_kura(repo, {"add", "."}).exit_code == 0);
  auto c = run_kura(repo, {"-q", "commit", "-m", "data"});
  INFO(c.err);
  REQUIRE(c.exit_code == 0);
  for (const std::string format : {"llava", "sharegpt", "axolotl"}) {
    const fs::path out = dir / ("out-" + format);
    auto e = run_kura(repo, {"export", "--format", format, out.string()});
    INFO(format << ": " << e.err);
    REQUIRE(e.exit_code == 0);
    auto r = run_kura(out, {"check", "--json", "--no-faces", "--profile", format});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const json report = json::parse(r.out);
    REQUIRE(report["summary"]["examples"] == 12);
    for (const auto& finding : report["findings"]) REQUIRE(finding["rule"] == "image.near_duplicate");
  }
}
