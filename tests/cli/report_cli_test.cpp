// Reports for people, driven like a user: the block per rule before the
// details, --all, the --rule / --severity / --file filters in text and JSON,
// and kura show ID (a stored object's bytes, --info, prefixes).
#include <vips/vips.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "kura/check.hpp"
#include "kura/error.hpp"
#include "support.hpp"

using namespace kura::test;
using nlohmann::json;

namespace {

constexpr int kGrey = 30;

// A real 8-bit grey PNG of noise (libvips), different for each seed.
std::string grey_png(int seed) {
  REQUIRE(VIPS_INIT("kura_tests") == 0);
  VipsImage *noise = nullptr, *grey = nullptr;
  REQUIRE(vips_gaussnoise(&noise, 48, 40, "seed", seed, nullptr) == 0);
  REQUIRE(vips_cast_uchar(noise, &grey, nullptr) == 0);
  void* buf = nullptr;
  size_t len = 0;
  REQUIRE(vips_image_write_to_buffer(grey, ".png", &buf, &len, nullptr) == 0);
  std::string out(static_cast<char*>(buf), len);
  g_free(buf);
  g_object_unref(grey);
  g_object_unref(noise);
  return out;
}

std::string image_row(const std::string& url) {
  return R"({"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":")" +
         url + R"("}}]},{"role":"assistant","content":"a thing"}]})" + "\n";
}

// A committed data set with 30 grey PNGs (image.bad_color_mode, errors), a
// CMYK photo (the same rule, another folder), an EXIF-rotated photo whose
// warning the policy excludes, two lines that are not JSON, a line naming
// images/g00.png and one holding a JPEG inline.
//   train.jsonl: lines 1-10 text, 11 names images/g00.png, 12 inline fish.jpg, 13-14 "x".
void make_data_set(const fs::path& d) {
  for (int i = 0; i < kGrey; ++i) write_file(d / ("images/g" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".png"), grey_png(i + 1));
  write_file(d / "photos/cmyk.jpg", read_file(data_path("../check/data/cmyk.jpg")));
  write_file(d / "photos/rotated.jpg", read_file(data_path("../check/data/orientation_6.jpg")));
  write_file(d / "train.jsonl", text_rows(10) + image_row("images/g00.png") +
                                    image_row("data:image/jpeg;base64," + base64(data_file("fish.jpg"))) + "x\nx\n");
  write_file(d / "kura-checks.json", R"({"detect_faces": false, "rules": {"image.exif_rotated": "exclude"}})");
  REQUIRE(run_kura(d, {"init"}).exit_code == 0);
  REQUIRE(run_kura(d, {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d, {"commit", "-n", "-m", "problems"}).exit_code == 0);
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// The text before the details: the blocks per rule.
std::string rule_blocks(const std::string& out) { return out.substr(0, out.find("\nfindings:\n")); }

json check_json(const fs::path& d, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"check", "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  RunResult r = run_kura(d, args);
  INFO(r.err);
  REQUIRE(r.exit_code == 1);  // the whole report has errors, whatever the filter shows
  return json::parse(r.out);
}

std::map<std::string, size_t> rules_of(const json& findings) {
  std::map<std::string, size_t> out;
  for (const auto& f : findings) ++out[f["rule"].get<std::string>()];
  return out;
}

const json& rule_entry(const json& report, const std::string& rule) {
  for (const auto& r : report["rules"])
    if (r["rule"] == rule) return r;
  FAIL("no rules[] entry for " << rule);
  static const json none;
  return none;
}

// One data set for the whole file: building it (30 images, a commit) is the
// slow part, and no test changes it.
const fs::path& data_set() {
  static TempDir dir;
  static bool made = false;
  if (!made) {
    make_data_set(dir.path());
    made = true;
  }
  return dir.path();
}

}  // namespace

TEST_CASE("report: kura check prints one block per rule with its count and fix before the details", "[report][cli]") {
  const fs::path& d = data_set();
  RunResult r = run_kura(d, {"check"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 1);
  const std::string blocks = rule_blocks(r.out);
  REQUIRE(blocks.find("by rule:") != std::string::npos);
  // 30 grey files, the CMYK file and the grey file again at train.jsonl:11.
  REQUIRE(blocks.find("error   image.bad_color_mode         32 findings\n") != std::string::npos);
  REQUIRE(blocks.find("error   jsonl.invalid_json           2 findings\n") != std::string::npos);
  REQUIRE(blocks.find("warning image.exif_rotated           1 finding (1 excluded)\n") != std::string::npos);
  // Errors come first, the most frequent first.
  REQUIRE(blocks.find("image.bad_color_mode") < blocks.find("jsonl.invalid_json"));
  REQUIRE(blocks.find("jsonl.invalid_json") < blocks.find("image.exif_rotated"));
  // Three examples, then how many more.
  REQUIRE(blocks.find("          images/g00.png: ") != std::string::npos);
  REQUIRE(blocks.find("          ... and 29 more\n") != std::string::npos);
  REQUIRE(blocks.find("          train.jsonl:13: ") != std::string::npos);
  // The details follow, 20 per rule; a fix shared by the rule is not repeated.
  REQUIRE(count(r.out, "error image.bad_color_mode") == 20);
  REQUIRE(r.out.find("image.bad_color_mode: 12 more") != std::string::npos);
  const json j = check_json(d, {});
  const std::string grey_fix = j["findings"][0]["fix"];
  REQUIRE(count(r.out, grey_fix) < 20);
  // The totals stay last.
  REQUIRE(r.out.find("34 errors, 1 warning, 0 info, 1 excluded\n") != std::string::npos);
  REQUIRE(r.out.rfind("34 errors") > r.out.rfind("see every finding"));
}

TEST_CASE("report: the JSON rules summary counts what the findings hold and says no filter was applied", "[report][cli]") {
  const json j = check_json(data_set(), {});
  REQUIRE(j["filter"].is_null());
  REQUIRE(j["summary"]["errors"] == 34);
  REQUIRE(j["shown"]["findings"] == j["findings"].size());
  REQUIRE(j["shown"]["errors"] == 34);
  REQUIRE(j["shown"]["excluded"] == 1);
  const auto counted = rules_of(j["findings"]);
  REQUIRE(j["rules"].size() == counted.size());
  for (const auto& r : j["rules"]) {
    INFO(r.dump());
    REQUIRE(r["findings"] == counted.at(r["rule"]));
    REQUIRE(r["shown"] == r["findings"]);
    REQUIRE(r["errors"].get<uint64_t>() + r["warnings"].get<uint64_t>() + r["infos"].get<uint64_t>() == r["findings"]);
    REQUIRE(!r["fix"].get<std::string>().empty());
  }
  REQUIRE(rule_entry(j, "image.bad_color_mode")["findings"] == 32);
  REQUIRE(rule_entry(j, "image.bad_color_mode")["severity"] == "error");
  REQUIRE(rule_entry(j, "image.exif_rotated")["excluded"] == 1);
  REQUIRE(j["rules"][0]["rule"] == "image.bad_color_mode");
}

TEST_CASE("report: --all prints every finding of a rule and says nothing is hidden", "[report][cli]") {
  RunResult r = run_kura(data_set(), {"check", "--all"});
  REQUIRE(r.exit_code == 1);
  REQUIRE(count(r.out, "error image.bad_color_mode") == 32);
  REQUIRE(count(r.out, " more\n") == 1);  // the block's "... and 29 more" only
  REQUIRE(r.out.find("not shown") == std::string::npos);
}

TEST_CASE("report: --rule takes an id or a family or a glob in text and JSON", "[report][cli]") {
  const fs::path& d = data_set();
  for (const std::string pattern : {"image.", "image", "image.*", "*.bad_color_mode"}) {
    INFO(pattern);
    const json j = check_json(d, {"--rule", pattern});
    const auto shown = rules_of(j["findings"]);
    if (pattern == "*.bad_color_mode") REQUIRE(shown == std::map<std::string, size_t>{{"image.bad_color_mode", 32}});
    else REQUIRE(shown == std::map<std::string, size_t>{{"image.bad_color_mode", 32}, {"image.exif_rotated", 1}});
    REQUIRE(j["filter"] == json{{"rules", json::array({pattern})}});
    REQUIRE(j["summary"]["errors"] == 34);  // the whole report's
    REQUIRE(j["ok"] == false);
    REQUIRE(j["shown"]["findings"] == j["findings"].size());
    REQUIRE(rule_entry(j, "jsonl.invalid_json")["findings"] == 2);
    REQUIRE(rule_entry(j, "jsonl.invalid_json")["shown"] == 0);
  }
  const json two = check_json(d, {"--rule", "jsonl.invalid_json", "--rule", "image.exif_rotated"});
  REQUIRE(rules_of(two["findings"]) == std::map<std::string, size_t>{{"image.exif_rotated", 1}, {"jsonl.invalid_json", 2}});

  RunResult r = run_kura(d, {"check", "--rule", "jsonl."});
  REQUIRE(r.exit_code == 1);
  REQUIRE(r.out.find("image.bad_color_mode") == std::string::npos);
  REQUIRE(count(r.out, "error jsonl.invalid_json (line") == 2);
  REQUIRE(r.out.find("filtered by --rule jsonl.: 2 of 35 findings shown") != std::string::npos);
  REQUIRE(r.out.find("34 errors") != std::string::npos);
}

TEST_CASE("report: --severity shows that severity and worse", "[report][cli]") {
  const fs::path& d = data_set();
  const json errors = check_json(d, {"--severity", "error"});
  REQUIRE(errors["shown"]["findings"] == 34);
  REQUIRE(errors["shown"]["warnings"] == 0);
  REQUIRE(errors["filter"] == json{{"severity", "error"}});
  const json warnings = check_json(d, {"--severity", "warning"});
  REQUIRE(warnings["shown"]["findings"] == 35);
  REQUIRE(warnings["shown"]["warnings"] == 1);
  const json infos = check_json(d, {"--severity", "info"});
  REQUIRE(infos["shown"]["findings"] == infos["findings"].size());
  REQUIRE(infos["findings"].size() == check_json(d, {})["findings"].size());
  RunResult bad = run_kura(d, {"check", "--severity", "fatal"});
  REQUIRE(bad.exit_code == 2);
  REQUIRE(bad.err.find("--severity") != std::string::npos);
}

TEST_CASE("report: --file takes a file or a folder and combines with --rule and --severity", "[report][cli]") {
  const fs::path& d = data_set();
  const json folder = check_json(d, {"--file", "photos"});
  std::set<std::string> paths;
  for (const auto& f : folder["findings"]) paths.insert(f["path"]);
  REQUIRE(paths == std::set<std::string>{"photos/cmyk.jpg", "photos/rotated.jpg"});
  REQUIRE(check_json(d, {"--file", "photos/"})["findings"] == folder["findings"]);
  const json file = check_json(d, {"--file", "train.jsonl", "--file", "images/g07.png"});
  REQUIRE(rules_of(file["findings"]) ==
          std::map<std::string, size_t>{{"image.bad_color_mode", 2}, {"jsonl.invalid_json", 2}});
  const json both = check_json(d, {"--file", "photos", "--rule", "image.bad_color_mode", "--severity", "error"});
  REQUIRE(both["findings"].size() == 1);
  REQUIRE(both["findings"][0]["path"] == "photos/cmyk.jpg");
  REQUIRE(both["filter"] == json{{"rules", json::array({"image.bad_color_mode"})}, {"severity", "error"}, {"files", json::array({"photos"})}});
  REQUIRE(rule_entry(both, "image.bad_color_mode")["shown"] == 1);
  REQUIRE(rule_entry(both, "image.bad_color_mode")["findings"] == 32);
  // "photo" is not the folder "photos".
  REQUIRE(check_json(d, {"--file", "photo"})["findings"].empty());

  RunResult r = run_kura(d, {"check", "--file", "photos", "--severity", "warning"});
  REQUIRE(r.exit_code == 1);
  INFO(r.out);
  REQUIRE(r.out.find("images/") == std::string::npos);
  REQUIRE(r.out.find("error   image.bad_color_mode         1 finding shown of 32\n") != std::string::npos);
  REQUIRE(r.out.find("filtered by --severity warning --file photos: 2 of 35 findings shown") != std::string::npos);
}

TEST_CASE("report: an unknown rule in --rule is an error naming it and its close matches", "[report][cli]") {
  const fs::path& d = data_set();
  RunResult r = run_kura(d, {"check", "--rule", "image.bad_colour_mode"});
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.out.empty());
  REQUIRE(r.err == "kura: --rule 'image.bad_colour_mode' matches no rule (did you mean image.bad_color_mode?)\n");
  RunResult tail = run_kura(d, {"check", "--json", "--rule", "too_large"});
  REQUIRE(tail.exit_code == 2);
  REQUIRE(tail.err.find("did you mean image.too_large") != std::string::npos);
  RunResult none = run_kura(d, {"check", "--rule", "zzzzzz.*"});
  REQUIRE(none.exit_code == 2);
  REQUIRE(none.err.find("rule families are axolotl. curation. dataset. hook. image. jsonl. llava. moderation. sharegpt.") != std::string::npos);
  // The library says the same to a caller that builds a filter.
  kura::ReportFilter filter;
  filter.rules = {"jsonl.invalid_jsn"};
  REQUIRE_THROWS_WITH(filter.validate(kura::CheckReport{}), Catch::Contains("did you mean jsonl.invalid_json"));
}

TEST_CASE("report: kura commit and kura show print the same filtered report", "[report][cli]") {
  TempDir d;
  write_file(d / "train.jsonl", text_rows(10) + "x\n");
  write_file(d / "photos/cmyk.jpg", read_file(data_path("../check/data/cmyk.jpg")));
  REQUIRE(run_kura(d.path(), {"init"}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
  RunResult commit = run_kura(d.path(), {"commit", "-m", "bad", "--rule", "jsonl.*"});
  REQUIRE(commit.exit_code == 1);
  REQUIRE(commit.err.find("error jsonl.invalid_json (line 11)") != std::string::npos);
  REQUIRE(commit.err.find("image.bad_color_mode") == std::string::npos);
  REQUIRE(commit.err.find("filtered by --rule jsonl.*: 1 of 2 findings shown") != std::string::npos);
  RunResult commit_json = run_kura(d.path(), {"commit", "-m", "bad", "--json", "--file", "photos"});
  REQUIRE(commit_json.exit_code == 1);
  const json cj = json::parse(commit_json.out);
  REQUIRE(cj["committed"] == false);
  REQUIRE(cj["checks"]["findings"].size() == 1);
  REQUIRE(cj["checks"]["findings"][0]["rule"] == "image.bad_color_mode");
  REQUIRE(cj["checks"]["summary"]["errors"] == 2);

  write_file(d / "kura-checks.json", R"({"rules": {"image.bad_color_mode": "warn"}})");
  write_file(d / "train.jsonl", text_rows(10));
  REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"commit", "-m", "warned"}).exit_code == 0);
  RunResult show = run_kura(d.path(), {"show", "--severity", "error"});
  REQUIRE(show.exit_code == 0);
  REQUIRE(show.out.find("image.bad_color_mode") == std::string::npos);
  REQUIRE(show.out.find("filtered by --severity error: 0 of 1 finding shown") != std::string::npos);
  RunResult show_json = run_kura(d.path(), {"show", "--json", "--rule", "image.bad_color_mode"});
  REQUIRE(show_json.exit_code == 0);
  REQUIRE(json::parse(show_json.out)["checks"]["findings"].size() == 1);
}

TEST_CASE("report: kura show ID writes the stored object's exact bytes and an 8-digit prefix finds it", "[report][cli]") {
  const fs::path& d = data_set();
  const std::string png = read_file(d / "images/g05.png");
  const std::string id = sha256_hex(png);
  for (const std::string& spec : {id, id.substr(0, 8), id.substr(0, 20)}) {
    TempDir out;
    RunResult r = run_kura_to(out / "bytes", d, {"show", spec});
    INFO(spec << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(sha256_hex(read_file(out / "bytes")) == id);
  }
  // An image cut out of a JSONL line is an object too.
  const std::string fish = data_file("fish.jpg");
  TempDir out;
  REQUIRE(run_kura_to(out / "fish", d, {"show", sha256_hex(fish).substr(0, 12)}).exit_code == 0);
  REQUIRE(read_file(out / "fish") == fish);
  // Seven digits are too few for an object (a revision is looked for).
  RunResult short_id = run_kura(d, {"show", id.substr(0, 7)});
  REQUIRE(short_id.exit_code == 2);
  REQUIRE(short_id.err.find("an object id needs at least 8 hex digits") != std::string::npos);
}

TEST_CASE("report: kura show --info describes a PNG and a JPEG and where HEAD uses them", "[report][cli]") {
  const fs::path& d = data_set();
  const std::string png_id = sha256_hex(read_file(d / "images/g00.png"));
  RunResult text = run_kura(d, {"show", "--info", png_id.substr(0, 10)});
  INFO(text.out << text.err);
  REQUIRE(text.exit_code == 0);
  REQUIRE(text.out.find("object       " + png_id + "\n") != std::string::npos);
  REQUIRE(text.out.find("format       png\n") != std::string::npos);
  REQUIRE(text.out.find("size         48x40\n") != std::string::npos);
  REQUIRE(text.out.find("colour mode  grey\n") != std::string::npos);
  REQUIRE(text.out.find("  images/g00.png\n") != std::string::npos);
  REQUIRE(text.out.find("  train.jsonl:11 (names the file)\n") != std::string::npos);

  RunResult pj = run_kura(d, {"show", "--info", "--json", png_id});
  REQUIRE(pj.exit_code == 0);
  const json p = json::parse(pj.out);
  REQUIRE(p["kind"] == "image");
  REQUIRE(p["format"] == "png");
  REQUIRE(p["width"] == 48);
  REQUIRE(p["height"] == 40);
  REQUIRE(p["mode"] == "grey");
  REQUIRE(p["bytes"] == fs::file_size(d / "images/g00.png"));
  REQUIRE(p["exif_orientation"] == 1);
  REQUIRE(p["decodes"] == true);
  REQUIRE(p["used"]["rev"] == "HEAD");
  REQUIRE(p["used"]["uses"] == json::array({{{"path", "images/g00.png"}, {"how", "file"}},
                                             {{"path", "train.jsonl"}, {"how", "path"}, {"line", 11}}}));

  const std::string rotated = read_file(d / "photos/rotated.jpg");
  RunResult jj = run_kura(d, {"show", "--info", "--json", "HEAD:photos/rotated.jpg"});
  REQUIRE(jj.exit_code == 0);
  const json j = json::parse(jj.out);
  REQUIRE(j["object"] == sha256_hex(rotated));
  REQUIRE(j["format"] == "jpeg");
  REQUIRE(j["mode"] == "rgb");
  REQUIRE(j["exif_orientation"] == 6);
  REQUIRE(j["bytes"] == rotated.size());
  REQUIRE(j["used"]["uses"] == json::array({{{"path", "photos/rotated.jpg"}, {"how", "file"}}}));

  RunResult inline_use = run_kura(d, {"show", "--info", sha256_hex(data_file("fish.jpg"))});
  REQUIRE(inline_use.exit_code == 0);
  REQUIRE(inline_use.out.find("  train.jsonl:12 (inline image)\n") != std::string::npos);
  REQUIRE(inline_use.out.find("size         259x194\n") != std::string::npos);

  RunResult table = run_kura(d, {"show", "--info", "HEAD:train.jsonl"});
  REQUIRE(table.exit_code == 2);
  REQUIRE(table.err.find("'train.jsonl' is a table") != std::string::npos);
  RunResult commit = run_kura(d, {"show", "--info", "HEAD"});
  REQUIRE(commit.exit_code == 2);
  REQUIRE(commit.err.find("--info describes a stored object") != std::string::npos);
}

TEST_CASE("report: an ambiguous object prefix lists its candidates and an unknown id is named", "[report][cli]") {
  // Two small files whose SHA-256 share their first 8 hex digits (a birthday
  // search over "n<number>", about 80,000 hashes).
  std::map<std::string, std::string> seen;
  std::string a, b;
  for (uint64_t n = 0; a.empty(); ++n) {
    std::string bytes = "n" + std::to_string(n);
    auto [it, fresh] = seen.emplace(sha256_hex(bytes).substr(0, 8), bytes);
    if (!fresh) {
      a = it->second;
      b = bytes;
    }
  }
  TempDir d;
  write_file(d / "a.bin", a);
  write_file(d / "b.bin", b);
  REQUIRE(run_kura(d.path(), {"init"}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
  const std::string prefix = sha256_hex(a).substr(0, 8);
  RunResult r = run_kura(d.path(), {"show", prefix});
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err.find("'" + prefix + "' is ambiguous") != std::string::npos);
  REQUIRE(r.err.find("object " + sha256_hex(a)) != std::string::npos);
  REQUIRE(r.err.find("object " + sha256_hex(b)) != std::string::npos);
  // One more digit tells them apart (unless it does not: then two more).
  size_t n = 9;
  while (sha256_hex(a).substr(0, n) == sha256_hex(b).substr(0, n)) ++n;
  TempDir out;
  REQUIRE(run_kura_to(out / "a", d.path(), {"show", sha256_hex(a).substr(0, n)}).exit_code == 0);
  REQUIRE(read_file(out / "a") == a);

  const std::string unknown(64, 'e');
  RunResult full = run_kura(d.path(), {"show", unknown});
  REQUIRE(full.exit_code == 2);
  REQUIRE(full.err == "kura: object " + unknown + " not found in this repository\n");
  RunResult part = run_kura(d.path(), {"show", "--info", "eeeeeeeeee"});
  REQUIRE(part.exit_code == 2);
  REQUIRE(part.err.find("'eeeeeeeeee' is neither a revision nor the start of a stored object's id") != std::string::npos);
}

TEST_CASE("report: kura show refuses to write an image to a terminal unless --binary is given", "[report][cli]") {
  const fs::path& d = data_set();
  const std::string id = sha256_hex(read_file(d / "images/g01.png"));
  // script(1) runs the command on a pseudo-terminal.
  RunResult tty = run(d, {"script", "-qec", kura_binary() + " show " + id.substr(0, 8), "/dev/null"});
  INFO(tty.out << tty.err);
  REQUIRE(tty.exit_code == 2);
  REQUIRE(tty.out.find("is binary (png image") != std::string::npos);
  REQUIRE(tty.out.find("\x89PNG") == std::string::npos);
  RunResult forced =
      run(d, {"script", "-qec", kura_binary() + " show --binary " + id.substr(0, 8), "/dev/null"});
  REQUIRE(forced.exit_code == 0);
  REQUIRE(forced.out.find("PNG") != std::string::npos);
}

TEST_CASE("report: summarize_rules orders rules by severity then count and keeps the first fix", "[report]") {
  kura::CheckReport r;
  auto add = [&](const std::string& rule, kura::Severity s, const std::string& path, const std::string& fix) {
    kura::Finding f;
    f.rule = rule;
    f.severity = s;
    f.path = path;
    f.message = "m";
    f.fix = fix;
    r.findings.push_back(f);
  };
  add("image.too_small", kura::Severity::kWarning, "a.png", "bigger");
  add("image.too_small", kura::Severity::kWarning, "b.png", "bigger still");
  add("jsonl.invalid_json", kura::Severity::kError, "t.jsonl", "fix the line");
  add("image.remote_url", kura::Severity::kInfo, "t.jsonl", "fetch");
  const auto all = kura::summarize_rules(r);
  REQUIRE(all.size() == 3);
  REQUIRE(all[0].rule == "jsonl.invalid_json");
  REQUIRE(all[1].rule == "image.too_small");
  REQUIRE(all[1].findings == 2);
  REQUIRE(all[1].fix == "bigger");
  REQUIRE(all[2].rule == "image.remote_url");
  kura::ReportFilter only_b;
  only_b.files = {"b.png"};
  const auto b = kura::summarize_rules(r, only_b);
  REQUIRE(b[1].shown == 1);
  REQUIRE(b[1].fix == "bigger still");
  REQUIRE(b[1].examples == std::vector<size_t>{1});
  REQUIRE(b[0].shown == 0);
  REQUIRE(only_b.shown(r.findings) == std::vector<bool>{false, true, false, false});
}
