// The check engine on real files: each rule fires on a file that has the
// problem and stays silent on clean ones; results are cached; commits stop.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>

#include "kura/error.hpp"
#include "kura/image_facts.hpp"
#include "repo/fixture.hpp"

using namespace kura;
using namespace kura::test;

namespace {

std::string check_image(const std::string& name) { return read_file(data_path("") / "../check/data" / name); }

std::string row(const std::string& image_bytes, const std::string& label, const std::string& mime = "jpeg") {
  return R"({"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/)" +
         mime + ";base64," + base64(image_bytes) + R"("}}]},{"role":"assistant","content":")" + label + R"("}]})";
}

std::string text_row(const std::string& label) {
  return R"({"messages":[{"role":"user","content":"Say )" + label + R"("},{"role":"assistant","content":")" + label + R"("}]})";
}

// Ten clean rows of text, so jsonl.too_few_examples stays quiet.
std::string padding() {
  std::string out;
  for (int i = 0; i < 10; ++i) out += text_row("word" + std::to_string(i)) + "\n";
  return out;
}

CheckReport check_all(RepoFixture& f) {
  CheckOptions o;
  o.policy = f.repo->policy();  // .kura/checks.json, as kura check reads it
  return f.repo->check(CheckScope::kWorkingFolder, "", {}, o);
}

std::vector<std::string> rules_at(const CheckReport& r, const std::string& path, uint64_t line) {
  std::vector<std::string> out;
  for (const auto& x : r.findings)
    if (x.path == path && x.line == line) out.push_back(x.rule);
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

TEST_CASE("each JSONL format rule fires on the line that breaks it", "[check]") {
  RepoFixture f;
  const std::vector<std::string> lines = {
      text_row("fine"),                                                                    // 1
      "{not json",                                                                        // 2
      "[1, 2]",                                                                           // 3
      R"({"prompt": "old format"})",                                                     // 4
      R"({"messages":[{"content":"no role"},{"role":"assistant","content":"a"}]})",     // 5
      R"({"messages":[{"role":"robot","content":"x"},{"role":"assistant","content":"a"}]})",  // 6
      R"({"messages":[{"role":"user","content":"x","mood":"happy"},{"role":"assistant","content":"a"}]})",  // 7
      R"({"messages":[{"role":"user","content":""},{"role":"assistant","content":"a"}]})",  // 8
      R"({"messages":[{"role":"user","content":"only a question"}]})",                  // 9
      R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a","weight":2}]})",  // 10
      R"({"messages":[{"role":"user","content":[{"type":"audio","audio":"x"}]},{"role":"assistant","content":"a"}]})",  // 11
      R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.jpg","detail":"ultra"}}]},{"role":"assistant","content":"a"}]})",  // 12
      text_row("fine"),                                                                    // 13: duplicate of 1
      "\xff\xfe{\"messages\": 1}",                                                        // 14: invalid UTF-8
      std::string(200, '[') + std::string(200, ']'),                                      // 15: deep nesting
  };
  std::string file;
  for (const auto& l : lines) file += l + "\n";
  f.write("train.jsonl", file);
  f.write(".kura/checks.json", R"({"min_examples": 11})");  // the file holds 10 examples
  CheckReport r = check_all(f);
  REQUIRE(rules_at(r, "train.jsonl", 1).empty());
  REQUIRE(has(rules_at(r, "train.jsonl", 2), "jsonl.invalid_json"));
  REQUIRE(has(rules_at(r, "train.jsonl", 3), "jsonl.not_object"));
  REQUIRE(has(rules_at(r, "train.jsonl", 4), "jsonl.missing_messages"));
  REQUIRE(has(rules_at(r, "train.jsonl", 5), "jsonl.message_missing_key"));
  REQUIRE(has(rules_at(r, "train.jsonl", 6), "jsonl.unrecognized_role"));
  REQUIRE(has(rules_at(r, "train.jsonl", 7), "jsonl.unrecognized_key"));
  REQUIRE(has(rules_at(r, "train.jsonl", 8), "jsonl.missing_content"));
  REQUIRE(has(rules_at(r, "train.jsonl", 9), "jsonl.no_assistant_message"));
  REQUIRE(has(rules_at(r, "train.jsonl", 10), "jsonl.invalid_weight"));
  REQUIRE(has(rules_at(r, "train.jsonl", 11), "jsonl.bad_content_part"));
  REQUIRE(has(rules_at(r, "train.jsonl", 12), "jsonl.bad_content_part"));
  REQUIRE(has(rules_at(r, "train.jsonl", 12), "image.remote_url"));
  REQUIRE(has(rules_at(r, "train.jsonl", 13), "jsonl.duplicate_example"));
  REQUIRE(has(rules_at(r, "train.jsonl", 14), "jsonl.invalid_json"));
  REQUIRE(has(rules_at(r, "train.jsonl", 15), "jsonl.invalid_json"));
  REQUIRE(has(rules_at(r, "train.jsonl", 0), "jsonl.too_few_examples"));
  REQUIRE_FALSE(r.ok());
}

TEST_CASE("bad input gives findings and no crash: a 10 MB line and lines nested 100000 deep or not UTF-8", "[check]") {
  RepoFixture f;
  const std::string huge_text(10u << 20, 'x');
  const std::string file = padding() +
                           R"({"messages":[{"role":"user","content":")" + huge_text +
                           R"("},{"role":"assistant","content":"a"}]})" "\n" +                    // 11: 10 MB
                           std::string(100000, '[') + std::string(100000, ']') + "\n" +           // 12: deep
                           R"({"messages":[{"role":"user","content":"caf\xe9"},{"role":"assistant","content":"a"}]})" "\n" +  // 13
                           std::string(50000, '{') + "\n";                                         // 14: deep, unclosed
  f.write("train.jsonl", file);
  CheckReport r = check_all(f);
  INFO(r.to_json().dump(1).substr(0, 4000));
  REQUIRE(has(rules_at(r, "train.jsonl", 11), "jsonl.too_long"));
  REQUIRE(rules_at(r, "train.jsonl", 11).size() == 1);
  REQUIRE(has(rules_at(r, "train.jsonl", 12), "jsonl.invalid_json"));
  REQUIRE(has(rules_at(r, "train.jsonl", 13), "jsonl.invalid_json"));
  REQUIRE(has(rules_at(r, "train.jsonl", 14), "jsonl.invalid_json"));
  for (int line = 1; line <= 10; ++line) REQUIRE(rules_at(r, "train.jsonl", line).empty());
  // The file is kept byte for byte all the same.
  f.add_all();
  f.commit("bad input");
  REQUIRE(f.show("HEAD", "train.jsonl") == file);
}

TEST_CASE("image rules fire on real problem images and name line, message and part", "[check]") {
  RepoFixture f;
  const std::string jpeg = data_file("fish.jpg");
  std::string file = padding();
  file += row(check_image("cmyk.jpg"), "cmyk") + "\n";                // 11
  file += row(check_image("truncated.jpg"), "cut") + "\n";            // 12
  file += row(check_image("grey16.png"), "grey16", "png") + "\n";     // 13
  file += row(check_image("palette.gif"), "gif", "gif") + "\n";       // 14
  file += row(jpeg, "mislabelled", "png") + "\n";                     // 15
  file += row(check_image("orientation_6.jpg"), "rotated") + "\n";    // 16
  file += R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,@@@@"}}]},{"role":"assistant","content":"a"}]})" "\n";  // 17
  file += R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"images/nope.jpg"}}]},{"role":"assistant","content":"a"}]})" "\n";  // 18
  file += R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"../../etc/passwd"}}]},{"role":"assistant","content":"a"}]})" "\n";  // 19
  file += R"({"messages":[{"role":"assistant","content":[{"type":"image_url","image_url":{"url":"images/fish.jpg"}}]}]})" "\n";  // 20
  f.write("train.jsonl", file);
  f.write("images/fish.jpg", jpeg);
  f.write("images/bomb.png", check_image("bomb.png"));
  f.write("images/truncated.png", check_image("truncated.png"));
  CheckReport r = check_all(f);
  REQUIRE(has(rules_at(r, "train.jsonl", 11), "image.bad_color_mode"));
  REQUIRE(has(rules_at(r, "train.jsonl", 12), "image.corrupt"));
  REQUIRE(has(rules_at(r, "train.jsonl", 13), "image.bad_color_mode"));
  REQUIRE(has(rules_at(r, "train.jsonl", 14), "image.unsupported_format"));
  REQUIRE(has(rules_at(r, "train.jsonl", 15), "image.mime_mismatch"));
  REQUIRE(has(rules_at(r, "train.jsonl", 16), "image.exif_rotated"));
  REQUIRE(has(rules_at(r, "train.jsonl", 17), "image.bad_base64"));
  REQUIRE(has(rules_at(r, "train.jsonl", 18), "image.missing_file"));
  REQUIRE(has(rules_at(r, "train.jsonl", 19), "image.path_outside"));
  REQUIRE(has(rules_at(r, "train.jsonl", 20), "jsonl.image_outside_user_message"));
  REQUIRE(has(rules_at(r, "images/bomb.png", 0), "image.too_large"));
  REQUIRE(has(rules_at(r, "images/truncated.png", 0), "image.corrupt"));
  REQUIRE(rules_at(r, "images/fish.jpg", 0).empty());
  for (const auto& x : r.findings)
    if (x.path == "train.jsonl" && x.line == 11) {
      REQUIRE(x.message_index == 0);
      REQUIRE(x.content_index == 1);
      REQUIRE(x.object == sha256(check_image("cmyk.jpg")).hex());
    }
}

TEST_CASE("a clean data set of real photos gives no finding, faces give moderation.face", "[check][faces]") {
  RepoFixture f;
  const fs::path samples = "/usr/share/doc/opencv-doc/examples/data";
  const std::vector<std::string> clean = {"Blender_Suzanne1", "HappyFish", "aero1", "aero3", "aloeR", "apple", "baboon",
                                          "blox", "board", "building", "butterfly", "ela_original", "fruits", "home",
                                          "left", "leuvenA", "orange", "right", "squirrel_cls", "starry_night",
                                          "stuff", "text_defocus"};
  std::string train;
  for (size_t i = 0; i < clean.size(); ++i) {
    std::string bytes = read_file(samples / (clean[i] + ".jpg"));
    f.write("photos/" + clean[i] + ".jpg", bytes);
    if (i < 12) train += row(bytes, clean[i]) + "\n";
  }
  f.write("train.jsonl", train);
  CheckReport r = check_all(f);
  INFO(r.to_json().dump(2));
  REQUIRE(r.findings.empty());
  REQUIRE(r.summary.images == clean.size());
  f.write("people/messi.jpg", check_image("messi.jpg"));
  f.write("people/astronaut.jpg", check_image("astronaut.jpg"));
  r = check_all(f);
  REQUIRE(has(rules_at(r, "people/messi.jpg", 0), "moderation.face"));
  REQUIRE(has(rules_at(r, "people/astronaut.jpg", 0), "moderation.face"));
  REQUIRE(r.findings.size() == 2);
}

TEST_CASE("the same or a near-identical image in train and validation is leakage", "[check]") {
  RepoFixture f;
  f.write("train.jsonl", padding() + row(check_image("video-001.jpg"), "video") + "\n" + row(data_file("fish.jpg"), "fish") + "\n");
  f.write("validation.jsonl", row(check_image("video-001.q50.jpg"), "video") + "\n" + row(data_file("fish.jpg"), "fish") + "\n" +
                                  row(data_file("linux.jpg"), "logo") + "\n");
  CheckReport r = check_all(f);
  REQUIRE(has(rules_at(r, "validation.jsonl", 1), "dataset.leakage"));
  REQUIRE(has(rules_at(r, "validation.jsonl", 2), "dataset.leakage"));
  REQUIRE(rules_at(r, "validation.jsonl", 3).empty());
}

TEST_CASE("a second check of an unchanged data set decodes nothing", "[check][cache]") {
  RepoFixture f;
  f.write("train.jsonl", padding() + row(data_file("fish.jpg"), "fish") + "\n");
  f.write("a.png", data_file("pic1.png"));
  f.write("b.webp", data_file("blox.webp"));
  CheckReport first = check_all(f);
  REQUIRE(first.images_inspected == 3);
  REQUIRE(first.rows_parsed == 11);
  let_clock_tick();
  CheckReport second = check_all(f);
  REQUIRE(second.images_inspected == 0);
  REQUIRE(second.image_cache_hits == 3);
  REQUIRE(second.rows_parsed == 0);
  REQUIRE(second.to_json()["findings"] == first.to_json()["findings"]);
}

TEST_CASE("policy: rules can be turned off, made warnings, or exclude examples", "[check]") {
  RepoFixture f;
  f.write("train.jsonl", padding() + row(check_image("cmyk.jpg"), "cmyk") + "\n");
  f.write(".kura/checks.json", R"({"rules": {"image.bad_color_mode": "exclude"}})");
  CheckReport r = check_all(f);
  REQUIRE(r.ok());
  REQUIRE(r.summary.excluded == 1);
  REQUIRE(r.excluded_lines.at("train.jsonl") == std::vector<uint64_t>{11});
  f.write(".kura/checks.json", R"({"rules": {"image.bad_color_mode": "off"}})");
  REQUIRE(check_all(f).findings.empty());
  f.write(".kura/checks.json", R"({"rules": {"image.no_such_rule": "off"}})");
  REQUIRE_THROWS_WITH(f.repo->policy(), Catch::Contains("image.no_such_rule"));
}

TEST_CASE("commit stops on check errors, stores the report, and --no-verify skips it", "[check][commit]") {
  RepoFixture f;
  f.write("train.jsonl", padding() + row(check_image("cmyk.jpg"), "cmyk") + "\n");
  f.add_all();
  CommitOptions o;
  o.message = "with errors";
  CheckReport report;
  try {
    f.repo->commit(o, &report);
    FAIL("a commit with check errors went through");
  } catch (const Error& e) {
    REQUIRE(e.code() == ErrorCode::kCheckFailed);
  }
  REQUIRE(report.summary.errors == 1);
  REQUIRE(f.repo->log("HEAD", 0).empty());
  f.write("train.jsonl", padding() + row(data_file("fish.jpg"), "fish") + "\n");
  f.add_all();
  o.message = "clean";
  f.repo->commit(o, &report);
  auto stored = f.repo->commit_report("HEAD");
  REQUIRE(stored);
  REQUIRE(stored->ok());
  REQUIRE(stored->summary.examples == 11);
  REQUIRE(f.repo->fsck().ok());
  f.write("train.jsonl", "{broken\n");
  f.add_all();
  o.message = "skip checks";
  o.verify = false;
  f.repo->commit(o);
  REQUIRE_FALSE(f.repo->commit_report("HEAD"));
}

TEST_CASE("check, then add, then commit: files the check stored commit intact", "[check][commit]") {
  RepoFixture f;
  f.write("train.jsonl", padding());
  f.write("a.jpg", data_file("fish.jpg"));
  let_clock_tick();
  check_all(f);  // stores the files and fills the stat cache
  f.add_all();   // answered by the stat cache
  f.commit("after check");
  REQUIRE(f.show("HEAD", "train.jsonl") == padding());
  REQUIRE(f.repo->fsck().ok());
}

TEST_CASE("the user's hook adds its findings to the report", "[check][hook]") {
  RepoFixture f;
  f.write("train.jsonl", padding());
  f.write(".kura/hooks/pre-commit",
          "#!/bin/sh\necho '{\"rule\":\"team.label\",\"severity\":\"error\",\"path\":\"train.jsonl\",\"line\":3,"
          "\"message\":\"label not in our list\"}'\n");
  fs::permissions(f / ".kura/hooks/pre-commit", fs::perms::owner_all);
  CheckReport r = check_all(f);
  REQUIRE(has(rules_at(r, "train.jsonl", 3), "team.label"));
  REQUIRE_FALSE(r.ok());
}

TEST_CASE("the face model is kept decompressed in the user's cache, and a damaged copy is not trusted",
          "[check][faces]") {
  TempDir d;
  const fs::path cache = d / "cache";
  const std::map<std::string, std::string> env = {{"XDG_CACHE_HOME", cache.string()}};
  write_file(d / "data/messi.jpg", check_image("messi.jpg"));
  std::string output;
  auto faces_found = [&] {
    RunResult r = run_kura(d / "data", {"check", "--json"}, env);
    output = r.out + r.err;
    if (r.exit_code != 0) return false;  // a face is a warning: exit 0
    const auto report = nlohmann::json::parse(r.out);
    bool face = false;
    for (const auto& f : report.at("findings")) face |= f.at("rule") == "moderation.face";
    return face;
  };
  const bool first = faces_found();
  INFO(output);
  REQUIRE(first);
  const fs::path model = cache / "kura" / "dlib-19.24.0-frontal-face-detector.bin";
  REQUIRE(fs::exists(model));
  const std::string good = read_file(model);
  REQUIRE(good.size() > 1000);

  // A flipped byte in the weights: the checksum rejects the file, the model
  // is decompressed again, the face is still found and the file is repaired.
  std::string bad = good;
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x40);
  write_file(model, bad);
  fs::remove_all(cache / "kura" / "check-cache");
  REQUIRE(faces_found());
  REQUIRE(read_file(model) == good);
  // A truncated file too.
  write_file(model, good.substr(0, 20));
  fs::remove_all(cache / "kura" / "check-cache");
  REQUIRE(faces_found());
  REQUIRE(read_file(model) == good);
}

TEST_CASE("kura check outside a repository caches results, not copies of the files", "[check][cache]") {
  TempDir d;
  const fs::path cache = d / "cache";
  const std::map<std::string, std::string> env = {{"XDG_CACHE_HOME", cache.string()}};
  const fs::path samples = "/usr/share/doc/opencv-doc/examples/data";
  uint64_t image_bytes = 0;
  for (const char* name : {"aero1", "aero3", "baboon", "building", "butterfly", "fruits", "home", "orange"}) {
    const std::string bytes = read_file(samples / (std::string(name) + ".jpg"));
    image_bytes += bytes.size();
    write_file(d / "data/photos" / (std::string(name) + ".jpg"), bytes);
  }
  write_file(d / "data/photos/cmyk.jpg", check_image("cmyk.jpg"));
  // A JSONL naming a folder image by path (line 11) and inlining one (line 12).
  write_file(d / "data/train.jsonl",
             padding() +
                 R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"photos/cmyk.jpg"}}]},{"role":"assistant","content":"a"}]})" +
                 "\n" + row(check_image("cmyk.jpg"), "inline") + "\n");
  auto cache_bytes = [&] {  // RocksDB's data files (not its text log and options files)
    uint64_t total = 0;
    for (const auto& e : fs::recursive_directory_iterator(cache / "kura" / "check-cache")) {
      const std::string ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".sst" || ext == ".blob" || ext == ".log")) total += e.file_size();
    }
    return total;
  };
  auto check = [&](const std::vector<std::string>& args) {
    RunResult r = run_kura(d / "data", args, env);
    INFO(r.out + r.err);
    REQUIRE(r.exit_code == 1);  // the CMYK image is an error
    return nlohmann::json::parse(r.out);
  };
  auto bad_colour = [](const nlohmann::json& report) {
    std::set<std::pair<std::string, uint64_t>> at;
    for (const auto& f : report.at("findings"))
      if (f.at("rule") == "image.bad_color_mode") at.emplace(f.at("path"), f.value("line", 0));
    return at;
  };
  const std::set<std::pair<std::string, uint64_t>> expected = {
      {"photos/cmyk.jpg", 0}, {"train.jsonl", 11}, {"train.jsonl", 12}};

  const auto first = check({"check", "--no-faces", "--json"});
  REQUIRE(bad_colour(first) == expected);
  REQUIRE(first.at("summary").at("images") == 9);
  // What stays: the results store and the lock; no scratch store, no copies.
  std::set<std::string> kept;
  for (const auto& e : fs::directory_iterator(cache / "kura" / "check-cache")) kept.insert(e.path().filename());
  REQUIRE(kept == std::set<std::string>{"lock", "results"});
  const uint64_t after_first = cache_bytes();
  INFO("cache " << after_first << " bytes for " << image_bytes << " bytes of images");
  REQUIRE(after_first < image_bytes / 4);

  // Again, and for the JSONL alone (its image path read from the folder):
  // the same findings from cached results.
  REQUIRE(check({"check", "--no-faces", "--json"}) == first);
  const auto jsonl_only = check({"check", "--no-faces", "--json", "train.jsonl"});
  REQUIRE(bad_colour(jsonl_only) == std::set<std::pair<std::string, uint64_t>>{{"train.jsonl", 11}, {"train.jsonl", 12}});
  REQUIRE(cache_bytes() < after_first + image_bytes / 4);
}

TEST_CASE("the stored report keeps every excluded finding compactly and still reads the 0.1 form", "[check][commit]") {
  RepoFixture f;
  f.write(".kura/checks.json", R"({"rules": {"jsonl.invalid_json": "exclude"}})");
  std::string bad;
  for (int i = 0; i < 20000; ++i) bad += "{broken " + std::to_string(i % 7) + "\n";
  f.write("train.jsonl", padding() + bad);
  f.add_all();
  CommitOptions o;
  o.message = "many excluded lines";
  CheckReport made;
  f.repo->commit(o, &made);
  auto stored = f.repo->commit_report("HEAD");
  REQUIRE(stored);
  REQUIRE(stored->findings.size() == 20000);
  REQUIRE(stored->summary.excluded == 20000);
  REQUIRE(stored->excluded_lines.at("train.jsonl").size() == 20000);
  REQUIRE(stored->excluded_lines.at("train.jsonl").front() == 11);
  REQUIRE(stored->to_json() == made.to_json());
  const std::string compact = stored->encode(), old = stored->to_json().dump();
  CHECK(compact.size() * 5 < old.size());
  REQUIRE(CheckReport::decode(old).to_json() == made.to_json());
  REQUIRE(CheckReport::decode(compact).to_json() == made.to_json());
  REQUIRE_THROWS_WITH(CheckReport::decode(compact.substr(0, compact.size() - 5)),
                      Catch::Contains("stored check report, line"));
  REQUIRE_THROWS_WITH(CheckReport::decode(compact.substr(0, compact.rfind('\n', compact.size() / 2) + 1)),
                      Catch::Contains("ends early"));
}
