// How an export writes: a file of several megabytes goes through its own
// writer thread (WriteBehind), image files through a small pool (FilePool),
// new files without an fchmod unless the umask needs one. The bytes, the
// SHA-256 the manifest records, the modes and the errors must be what a
// single thread writing everything itself would give.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "export/export_support.hpp"
#include "kura/object_id.hpp"
#include "support.hpp"

using namespace kura::test;
using nlohmann::json;

namespace {

// train.jsonl of 400 rows (4.3 MB: four writer buffers), each an inline
// image of tests/data; line 251 repeats line 1, which the policy excludes,
// so the rows stop going out as committed after 2.7 MB have been queued.
struct LargeTable {
  TempDir dir;
  fs::path repo;
  std::string committed, expected;
  LargeTable() {
    repo = dir / "data";
    const std::vector<std::pair<std::string, std::string>> images = {
        {"fish.jpg", "image/jpeg"}, {"pic1.png", "image/png"}, {"blox.webp", "image/webp"}, {"windows.jpg", "image/jpeg"}};
    for (int i = 0; i < 400; ++i) {
      const int n = i == 250 ? 0 : i;
      const auto& [file, mime] = images[n % 4];
      const std::string line = row("Picture " + std::to_string(n), {uri(file, mime)}, file.substr(0, file.find('.')));
      committed += line;
      if (i != 250) expected += line;
    }
    write_file(repo / "train.jsonl", committed);
    commit_for_export(repo);
  }
};

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("an output of several megabytes is written and hashed byte for byte by its writer thread", "[export]") {
  LargeTable t;
  REQUIRE(t.committed.size() > 4 * (1 << 20));
  const fs::path out = t.dir / "out";
  auto r = run_kura(t.repo, {"export", "--format", "openai", out.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string got = read_file(out / "train.jsonl");
  CHECK(got.size() == t.expected.size());
  CHECK(got == t.expected);
  const json m = json::parse(read_file(out / "kura-export.json"));
  CHECK(m["files"]["train.jsonl"]["sha256"] == kura::sha256(t.expected).hex());
  CHECK(m["files"]["train.jsonl"]["bytes"] == t.expected.size());
  CHECK(m["splits"]["train"]["excluded"]["jsonl.duplicate_example"] == 1);
  CHECK(m["left_out"][0]["line"] == 251);
  CHECK(run_kura(t.repo, {"export", "--verify", out.string()}).exit_code == 0);
  // --include-excluded: every row as committed, so the file's own hash is
  // the table's all the way (never copied from the writer thread's state).
  const fs::path all = t.dir / "all";
  r = run_kura(t.repo, {"export", "--format", "openai", "--include-excluded", all.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(all / "train.jsonl") == t.committed);
  CHECK(run_kura(t.repo, {"export", "--verify", all.string()}).exit_code == 0);
}

TEST_CASE("a disk that fills under the writer thread stops the export with no manifest", "[export]") {
  LargeTable t;
  Mount full(t.dir / "full", "size=1m");
  INFO("mounting a tmpfs needs root; these tests run as root here");
  REQUIRE(full.mounted);
  auto r = run_kura(t.repo, {"export", "--format", "openai", full.at.string()});
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("cannot write '" + (full.at / "train.jsonl").string() + "': No space left on device") !=
        std::string::npos);
  CHECK(!fs::exists(full.at / "kura-export.json"));
  // The same for image files written by the pool: hf-imagefolder's four images
  // and metadata.jsonl need more than 20 KB.
  Mount small(t.dir / "small", "size=20k");
  REQUIRE(small.mounted);
  r = run_kura(t.repo, {"export", "--format", "hf-imagefolder", small.at.string()});
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("No space left on device; the export is incomplete and has no kura-export.json") !=
        std::string::npos);
  CHECK(!fs::exists(small.at / "kura-export.json"));
}

TEST_CASE("exported files are mode 0644 whatever the umask and over a foreign file", "[export]") {
  LargeTable t;
  const std::string fish = "train/" + kura::sha256(data_file("fish.jpg")).hex().substr(0, 16) + ".jpg";
  for (const mode_t mask : {mode_t(022), mode_t(077), mode_t(0)}) {
    INFO("umask " << std::oct << mask);
    const fs::path out = t.dir / ("hf-" + std::to_string(mask));
    // A foreign file where the export puts fish.jpg: --force truncates it
    // and gives it the export's mode.
    write_file(out / fish, std::string(20000, 'x'));
    fs::permissions(out / fish, fs::perms::owner_read | fs::perms::owner_write);
    const mode_t before = ::umask(mask);
    auto r = run_kura(t.repo, {"export", "--format", "hf-imagefolder", "--force", out.string()});
    ::umask(before);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(read_file(out / fish) == data_file("fish.jpg"));
    size_t files = 0;
    for (const auto& e : fs::recursive_directory_iterator(out))
      if (e.is_regular_file()) {
        INFO(e.path());
        CHECK(mode_of(e.path()) == 0644);
        ++files;
      }
    CHECK(files == 6);  // four images, metadata.jsonl, kura-export.json
  }
}
