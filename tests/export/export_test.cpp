// kura export on real committed data: JPEG, PNG and WEBP images from
// tests/data, inline as data URIs and as files named by path. Each format's
// output is read back by tests/export/read_export.py (json and magic bytes:
// PIL is not installed here) and checked field by field.
#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "kura/object_id.hpp"
#include "kura/repo.hpp"
#include "kura/store.hpp"
#include "export/export_support.hpp"
#include "support.hpp"

using namespace kura::test;
using nlohmann::json;

namespace {

// train.jsonl: 11 single-image rows (inline JPEG, PNG, WEBP; one by path),
// line 12 with two images, line 13 a repeat of line 1 (the policy excludes
// duplicates); validation.jsonl: 2 rows.
struct Dataset {
  TempDir dir;
  fs::path repo;
  Dataset() {
    repo = dir / "data";
    const std::vector<std::pair<std::string, std::string>> images = {
        {"fish.jpg", "image/jpeg"}, {"pic1.png", "image/png"}, {"blox.webp", "image/webp"}, {"windows.jpg", "image/jpeg"}};
    std::string train;
    for (int i = 0; i < 10; ++i) {
      const auto& [file, mime] = images[i % 4];
      train += row("What is this? " + std::to_string(i), {uri(file, mime)}, file.substr(0, file.find('.')));
    }
    write_file(repo / "images/linux.jpg", data_file("linux.jpg"));
    train += row("Which logo?", {"images/linux.jpg"}, "linux");
    train += row("Two pictures", {uri("fish.jpg", "image/jpeg"), "images/linux.jpg"}, "fish");
    train += row("What is this? 0", {uri("fish.jpg", "image/jpeg")}, "fish");
    write_file(repo / "train.jsonl", train);
    write_file(repo / "validation.jsonl", row("And this?", {uri("windows.jpg", "image/jpeg")}, "windows", false) +
                                              row("And this one?", {"images/linux.jpg"}, "linux", false));
    commit_for_export(repo);
  }
  RunResult exp(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"export"};
    all.insert(all.end(), args.begin(), args.end());
    return run_kura(repo, all);
  }
  json manifest(const fs::path& out) { return json::parse(read_file(out / "kura-export.json")); }
};

RunResult read_back(const std::string& format, const fs::path& out) {
  return run(out, {"python3", source_dir() + "/tests/export/read_export.py", format, out.string()});
}

}  // namespace

TEST_CASE("each format's output reads back field by field as its trainer expects", "[export]") {
  Dataset d;
  const std::map<std::string, int> expected = {  // examples read back
      {"openai", 14}, {"axolotl", 14}, {"sharegpt", 14}, {"llava", 13}, {"hf-imagefolder", 13}, {"classes", 7}};
  for (const auto& [format, n] : expected) {
    INFO(format);
    const fs::path out = d.dir / ("out-" + format);
    auto r = d.exp({"--format", format, "--json", out.string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto back = read_back(format, out);
    INFO(back.out + back.err);
    REQUIRE(back.exit_code == 0);
    CHECK(back.out == "ok " + format + " " + std::to_string(n) + "\n");
    json m = d.manifest(out);
    CHECK(m["format"] == format);
    CHECK(m["splits"]["train"]["excluded"]["jsonl.duplicate_example"] == 1);
    CHECK(m["left_out"].back() == json({{"path", "train.jsonl"}, {"line", 13}, {"rule", "jsonl.duplicate_example"},
                                        {"why", "excluded by the checks"}}));
    CHECK(m["estimated_training_tokens_per_epoch"].get<uint64_t>() > 0);
    // classes writes an image once per label: 11 training examples of 5 distinct images.
    if (format == "classes") CHECK(m["notes"]["duplicate_images_merged"] == 6);
    CHECK(json::parse(r.out)["estimated_training_tokens_per_epoch"] == m["estimated_training_tokens_per_epoch"]);
  }
}

TEST_CASE("openai with --images files names each image once by path, other formats refuse inline", "[export]") {
  Dataset d;
  const fs::path out = d.dir / "openai-files";
  auto r = d.exp({"--format", "openai", "--images", "files", out.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto back = read_back("openai", out);
  INFO(back.out);
  CHECK(back.out == "ok openai 14\n");
  CHECK(read_file(out / "train.jsonl").find("base64") == std::string::npos);
  CHECK(d.manifest(out)["counts"]["images"] == 5);
  auto bad = d.exp({"--format", "llava", "--images", "inline", (d.dir / "x").string()});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--format llava writes images as files; --images inline works with --format openai") != std::string::npos);
  auto unknown = d.exp({"--format", "parquet", (d.dir / "y").string()});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("unknown export format 'parquet'") != std::string::npos);
  auto split = d.exp({"--format", "openai", "--split", "test", (d.dir / "z").string()});
  CHECK(split.exit_code == 2);
  CHECK(split.err.find("--split test: commit") != std::string::npos);
}

TEST_CASE("an example a format cannot express is reported with its file and line", "[export]") {
  Dataset d;
  auto r = d.exp({"--format", "llava", (d.dir / "out").string()});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("left out train.jsonl:12 export.cannot_express: llava cannot express it: 2 images") != std::string::npos);
  json m = d.manifest(d.dir / "out");
  REQUIRE(m["left_out"].size() == 2);
  CHECK(m["left_out"][0]["line"] == 12);
  CHECK(m["left_out"][0]["rule"] == "export.cannot_express");
  CHECK(m["splits"]["train"]["examples_out"] == 11);
  CHECK(m["splits"]["train"]["examples_in"] == 13);
  // Each distinct image once (fish, pic1, blox, windows, linux), bytes as committed.
  CHECK(m["counts"]["images"] == 5);
  for (auto& [path, rec] : m["files"].items())
    if (path.rfind("images/", 0) == 0) CHECK(sha256_hex(read_file(d.dir / "out" / path)) == rec["sha256"]);
  CHECK(fs::exists(d.dir / "out/images" / (sha256_hex(data_file("blox.webp")).substr(0, 16) + ".webp")));
}

TEST_CASE("the openai export passes kura check with no error, excluded lines absent", "[export]") {
  Dataset d;
  const fs::path out = d.dir / "openai";
  REQUIRE(d.exp({"--format", "openai", out.string()}).exit_code == 0);
  const std::string train = read_file(out / "train.jsonl");
  CHECK(std::count(train.begin(), train.end(), '\n') == 12);  // 13 lines minus the excluded repeat
  // Rows whose images are all inline go out as committed; line 11 names its image by path, now a data URI.
  const std::string committed = read_file(d.repo / "train.jsonl");
  size_t ten = 0;
  for (int i = 0; i < 10; ++i) ten = committed.find('\n', ten) + 1;
  CHECK(train.substr(0, ten) == committed.substr(0, ten));
  const std::string line11 = train.substr(ten, train.find('\n', ten) - ten);
  CHECK(line11.find("\"url\":\"data:image/jpeg;base64," + base64(data_file("linux.jpg")) + "\"") != std::string::npos);
  // The repository's policy (duplicates excluded, leakage off) applies to the export too.
  auto c = run(out, {kura_binary(), "check", "--json", "--policy", (d.repo / ".kura/checks.json").string(),
                     "train.jsonl", "validation.jsonl"});
  INFO(c.out + c.err);
  REQUIRE(c.exit_code == 0);
  json report = json::parse(c.out);
  CHECK(report["summary"]["errors"] == 0);
  CHECK(report["summary"]["examples"] == 14);
}

TEST_CASE("the same commit exports byte-identical twice and verify names a flipped file", "[export]") {
  Dataset d;
  for (const std::string format : {"openai", "llava", "hf-imagefolder", "files"}) {
    INFO(format);
    const fs::path a = d.dir / (format + "-a"), b = d.dir / (format + "-b");
    REQUIRE(d.exp({"--format", format, a.string()}).exit_code == 0);
    REQUIRE(d.exp({"--format", format, b.string()}).exit_code == 0);
    auto diff = run(d.dir.path(), {"diff", "-r", a.string(), b.string()});
    CHECK(diff.exit_code == 0);
    auto ok = d.exp({"--verify", a.string(), "--json"});
    INFO(ok.out + ok.err);
    REQUIRE(ok.exit_code == 0);
    CHECK(json::parse(ok.out)["ok"] == true);
  }
  const fs::path a = d.dir / "llava-a";
  json m = d.manifest(a);
  std::string victim;
  for (auto& [path, rec] : m["files"].items())
    if (path.rfind("images/", 0) == 0) victim = path;
  std::string bytes = read_file(a / victim);
  bytes[bytes.size() / 2] ^= 1;
  write_file(a / victim, bytes);
  auto bad = d.exp({"--verify", a.string()});
  CHECK(bad.exit_code == 1);
  CHECK(bad.out.rfind("differs: " + victim + ": SHA-256 differs", 0) == 0);
  write_file(a / "extra.txt", "x");
  auto extra = d.exp({"--verify", a.string(), "--json"});
  json j = json::parse(extra.out);
  CHECK(j["ok"] == false);
  CHECK(j["differences"][0]["path"] == "extra.txt");
  CHECK(j["differences"][0]["what"] == "not part of the export");
}

TEST_CASE("a non-empty OUTDIR is refused and force replaces an earlier export", "[export]") {
  Dataset d;
  const fs::path out = d.dir / "out";
  write_file(out / "notes.txt", "mine");
  auto r = d.exp({"--format", "axolotl", out.string()});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("is not empty (1 entries, e.g. 'notes.txt'); give a new or empty folder, or --force") != std::string::npos);
  CHECK(!fs::exists(out / "kura-export.json"));
  REQUIRE(d.exp({"--format", "axolotl", "--force", out.string()}).exit_code == 0);
  REQUIRE(d.exp({"--format", "openai", "--force", out.string()}).exit_code == 0);
  CHECK(!fs::exists(out / "images"));  // the axolotl export's images went with its manifest
  CHECK(read_file(out / "notes.txt") == "mine");
  CHECK(d.manifest(out)["format"] == "openai");
  auto inside = d.exp({"--format", "openai", (d.repo / ".kura/x").string()});
  CHECK(inside.exit_code == 2);
}

TEST_CASE("a read-only or full output folder gives a clear error and no manifest", "[export]") {
  Dataset d;
  Mount full(d.dir / "full", "size=24k");
  Mount readonly(d.dir / "ro", "ro,size=64k");
  INFO("mounting a tmpfs needs root; these tests run as root here");
  REQUIRE(full.mounted);
  REQUIRE(readonly.mounted);
  auto r = d.exp({"--format", "llava", full.at.string()});
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("No space left on device; the export is incomplete and has no kura-export.json") != std::string::npos);
  CHECK(!fs::exists(full.at / "kura-export.json"));
  auto ro = d.exp({"--format", "openai", readonly.at.string()});
  INFO(ro.err);
  CHECK(ro.exit_code == 2);
  CHECK(ro.err.find("Read-only file system") != std::string::npos);
  CHECK(!fs::exists(readonly.at / "kura-export.json"));
}

TEST_CASE("check errors refuse the export unless allow-check-errors, which the manifest records", "[export]") {
  Dataset d;
  write_file(d.repo / "train.jsonl", read_file(d.repo / "train.jsonl") +
                                         R"({"messages":[{"role":"user","content":"no answer"}]})" + "\n");
  let_clock_tick();
  REQUIRE(run_kura(d.repo, {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d.repo, {"-q", "commit", "--no-verify", "-m", "bad"}).exit_code == 0);
  auto r = d.exp({"--format", "openai", (d.dir / "a").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("check errors (first: train.jsonl:14 jsonl.no_assistant_message") != std::string::npos);
  CHECK(!fs::exists(d.dir / "a/kura-export.json"));
  REQUIRE(d.exp({"--format", "openai", "--allow-check-errors", (d.dir / "b").string()}).exit_code == 0);
  json m = d.manifest(d.dir / "b");
  CHECK(m["options"]["allow_check_errors"] == true);
  CHECK(m["checks"]["errors"].get<int>() >= 1);
  CHECK(m["checks"]["source"].get<std::string>().rfind("policy ", 0) == 0);
  // The previous commit still exports (REV), and include-excluded keeps the repeat.
  REQUIRE(d.exp({"--format", "openai", "--rev", "HEAD~1", "--include-excluded", (d.dir / "c").string()}).exit_code == 0);
  json c = d.manifest(d.dir / "c");
  CHECK(c["kept_excluded"].size() == 1);
  CHECK(c["splits"]["train"]["examples_out"] == 13);
}

TEST_CASE("list-formats names every format and what it cannot carry", "[export]") {
  TempDir dir;
  auto r = run_kura(dir.path(), {"export", "--list-formats", "--json"});
  REQUIRE(r.exit_code == 0);
  json j = json::parse(r.out);
  REQUIRE(j.size() == 7);
  CHECK(j[1]["name"] == "llava");
  CHECK(std::find(j[1]["cannot_carry"].begin(), j[1]["cannot_carry"].end(), "detail") != j[1]["cannot_carry"].end());
}

TEST_CASE("openai inline output is the committed file when every row goes out as committed", "[export]") {
  // A CRLF line and a last line without a newline: the rows go out as
  // committed but end in "\n", so the output differs there from the file
  // while its table hash (the store's bytes read once, checked against the
  // commit's SHA-256) still has to match the committed bytes exactly.
  TempDir dir;
  const fs::path repo = dir / "data";
  const std::vector<std::pair<std::string, std::string>> images = {
      {"fish.jpg", "image/jpeg"}, {"pic1.png", "image/png"}, {"blox.webp", "image/webp"}};
  std::string train, lf, expected;
  for (int i = 0; i < 12; ++i) {
    const auto& [file, mime] = images[i % 3];
    std::string line = row("Picture " + std::to_string(i), {uri(file, mime)}, file.substr(0, file.find('.')));
    line.pop_back();  // its "\n"
    train += line + (i == 5 ? "\r\n" : i == 11 ? "" : "\n");
    expected += line + "\n";
    lf += row("Image " + std::to_string(i), {uri(file, mime)}, file.substr(0, file.find('.')));
  }
  write_file(repo / "train.jsonl", train);
  write_file(repo / "lf.jsonl", lf);
  REQUIRE(run_kura(repo, {"init"}).exit_code == 0);
  let_clock_tick();
  REQUIRE(run_kura(repo, {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(repo, {"-q", "commit", "-m", "data"}).exit_code == 0);
  auto r = run_kura(repo, {"export", "--format", "openai", "--split", "train", (dir / "crlf").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(dir / "crlf/train.jsonl") == expected);
  r = run_kura(repo, {"export", "--format", "openai", "--split", "lf", (dir / "lf").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(dir / "lf/lf.jsonl") == read_file(repo / "lf.jsonl"));
  CHECK(run_kura(repo, {"export", "--verify", (dir / "lf").string()}).exit_code == 0);
}

TEST_CASE("an image whose stored bytes changed stops the export with no manifest", "[export]") {
  Dataset d;
  {
    // Other bytes under fish.jpg's id, as a damaged disk would leave them
    // (fish.jpg is inline in lines 1, 5, 9, 12 and 13).
    auto repo = kura::Repo::open(d.repo);
    const kura::ObjectId fish = kura::sha256(data_file("fish.jpg"));
    repo->store().erase_objects({fish});
    repo->store().put_object(fish, data_file("windows.jpg"));
    repo->store().sync_objects();
  }
  for (const std::string format : {"openai", "hf-imagefolder"}) {
    INFO(format);
    const fs::path out = d.dir / ("damaged-" + format);
    auto r = d.exp({"--format", format, out.string()});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("kura fsck") != std::string::npos);
    if (format == "openai") CHECK(r.err.find("'train.jsonl' rebuilt from its rows does not match") != std::string::npos);
    else CHECK(r.err.find("does not match its SHA-256") != std::string::npos);
    CHECK(!fs::exists(out / "kura-export.json"));
  }
}

TEST_CASE("two tables of one split go out into one file each checked against its own commit hash", "[export]") {
  // a/train.jsonl starts the output file (its hash is the file's); the
  // second table's rows follow it, so its bytes are hashed on their own.
  TempDir dir;
  const fs::path repo = dir / "data";
  std::string a, b;
  for (int i = 0; i < 12; ++i) {
    a += row("Left " + std::to_string(i), {uri("fish.jpg", "image/jpeg")}, "fish");
    b += row("Right " + std::to_string(i), {uri("pic1.png", "image/png")}, "pic1");
  }
  write_file(repo / "a/train.jsonl", a);
  write_file(repo / "b/train.jsonl", b);
  REQUIRE(run_kura(repo, {"init"}).exit_code == 0);
  let_clock_tick();
  REQUIRE(run_kura(repo, {"add", "."}).exit_code == 0);
  auto c = run_kura(repo, {"-q", "commit", "-m", "data"});
  INFO(c.err);
  REQUIRE(c.exit_code == 0);
  auto r = run_kura(repo, {"export", "--format", "openai", (dir / "out").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(dir / "out/train.jsonl") == a + b);
  CHECK(run_kura(repo, {"export", "--verify", (dir / "out").string()}).exit_code == 0);
}
