#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include <sys/stat.h>

#include <algorithm>
#include <random>

#include "kura/error.hpp"
#include "kura/object_id.hpp"
#include "util/base64.hpp"
#include "util/fs.hpp"
#include "support.hpp"

using namespace kura;

TEST_CASE("sha256 matches the known digest of 'abc'", "[util][fast]") {
  REQUIRE(sha256("abc").hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.update("a");
  h.update("bc");
  REQUIRE(h.finish() == sha256("abc"));
  REQUIRE(ObjectId::from_hex(sha256("abc").hex()) == sha256("abc"));
  REQUIRE_FALSE(ObjectId::from_hex("xyz"));
}

TEST_CASE("a copy of a sha256 goes on from the state so far independently of the original", "[util][fast]") {
  Sha256 h;
  h.update("ab");
  Sha256 copy(h);
  h.update("c");
  copy.update("d");
  REQUIRE(h.finish() == sha256("abc"));
  REQUIRE(copy.finish() == sha256("abd"));

  Sha256 assigned;
  assigned.update("unrelated bytes");
  Sha256 source;
  source.update("x");
  assigned = source;
  source.update("y");
  assigned.update("z");
  REQUIRE(assigned.finish() == sha256("xz"));
  REQUIRE(source.finish() == sha256("xy"));

  Sha256 moved_from;
  moved_from.update("hello ");
  Sha256 moved(std::move(moved_from));
  moved.update("world");
  REQUIRE(moved.finish() == sha256("hello world"));
  moved_from = Sha256();  // a moved-from hasher takes a new state by assignment
  moved_from.update("abc");
  REQUIRE(moved_from.finish() == sha256("abc"));
}

TEST_CASE("base64 encodes every length and byte exactly as OpenSSL does", "[util][fast]") {
  std::mt19937 rng(7);
  std::string bytes;
  for (size_t n = 0; n < 600; ++n) {
    std::string want(4 * ((n + 2) / 3) + 1, '\0');
    want.resize(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(want.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(n)));
    REQUIRE(base64_encode(bytes) == want);
    std::string appended = "prefix,";
    base64_append(bytes, appended);
    REQUIRE(appended == "prefix," + want);
    REQUIRE(base64_decode_canonical(want).value_or("?") == (n ? bytes : "?"));
    bytes.push_back(static_cast<char>(n < 256 ? n : rng()));  // every byte value, then random ones
  }
}

TEST_CASE("base64 of long inputs matches OpenSSL at every length around the 24-byte vector steps", "[util][fast]") {
  std::mt19937 rng(11);
  std::string bytes(70000, '\0');
  for (auto& b : bytes) b = static_cast<char>(rng());
  for (size_t n : {34, 35, 36, 57, 58, 59, 60, 1000, 1001, 1002, 1003, 4096, 65535, 65536, 65537, 69999, 70000}) {
    INFO(n);
    std::string want(4 * ((n + 2) / 3) + 1, '\0');
    want.resize(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(want.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(n)));
    REQUIRE(base64_encode(std::string_view(bytes).substr(0, n)) == want);
    // From an odd offset into the buffer, and after text already there.
    std::string appended = "x";
    base64_append(std::string_view(bytes).substr(1, n - 1), appended);
    std::string want_off(4 * ((n + 1) / 3) + 1, '\0');
    want_off.resize(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(want_off.data()),
                                    reinterpret_cast<const unsigned char*>(bytes.data() + 1), static_cast<int>(n - 1)));
    REQUIRE(appended == "x" + want_off);
  }
}

TEST_CASE("base64 decodes only canonical text", "[util][fast]") {
  REQUIRE(base64_encode("hello") == "aGVsbG8=");
  REQUIRE(base64_decode_canonical("aGVsbG8=") == std::optional<std::string>("hello"));
  REQUIRE_FALSE(base64_decode_canonical("aGVsbG8"));     // missing padding
  REQUIRE_FALSE(base64_decode_canonical("aGVs\nbG8="));  // line break
  REQUIRE_FALSE(base64_decode_canonical("aGVsbG9="));    // non-zero trailing bits
  REQUIRE_FALSE(base64_decode_canonical("aGV-bG8="));    // url-safe alphabet
  REQUIRE_FALSE(base64_decode_canonical(""));
}

TEST_CASE("paths given to add are kept inside the repository", "[util][fast]") {
  const std::filesystem::path root = "/data/set", cwd = "/data/set/images";
  REQUIRE(relative_to_root(root, cwd, "a.jpg") == "images/a.jpg");
  REQUIRE(relative_to_root(root, cwd, "..") == "");
  REQUIRE(relative_to_root(root, cwd, "/data/set/train.jsonl") == "train.jsonl");
  REQUIRE_THROWS_WITH(relative_to_root(root, cwd, "../../other"), Catch::Contains("outside the repository"));
  REQUIRE_THROWS_WITH(relative_to_root(root, cwd, "../.kura/store"), Catch::Contains(".kura"));
}

TEST_CASE("paths from a commit that would escape the folder are refused", "[util][fast]") {
  REQUIRE_NOTHROW(check_tree_path("images/cat.jpg"));
  REQUIRE_THROWS_WITH(check_tree_path("../evil"), Catch::Contains("outside the working folder"));
  REQUIRE_THROWS_WITH(check_tree_path("a/../../evil"), Catch::Contains("outside"));
  REQUIRE_THROWS_WITH(check_tree_path("/etc/passwd"), Catch::Contains("absolute"));
  REQUIRE_THROWS_WITH(check_tree_path(".kura/store/CURRENT"), Catch::Contains(".kura"));
  REQUIRE_THROWS_WITH(check_tree_path("sub/.git/hooks/pre-commit"), Catch::Contains(".git"));
}

TEST_CASE("names a file system takes for .git or .kura are reserved", "[util][fast]") {
  for (const char* name : {".GIT", ".Git", ".git ", ".git.", ".git. .", "GIT~1", "git~1", ".git::$INDEX_ALLOCATION",
                           ".g\u200cit", "\ufeff.git", ".gi\u206at", ".git\u200f", ".\u202agit"}) {
    INFO(name);
    REQUIRE(reserved_name_reason(name, false).find("case-insensitive") != std::string::npos);
    REQUIRE_THROWS_WITH(check_tree_path(std::string("data/") + name + "/config"),
                        Catch::Contains("refusing to write 'data/") && Catch::Contains(".git on case-insensitive"));
  }
  for (const char* name : {".KURA", ".Kura", ".kura ", ".kura.", "KURA~1"}) {
    INFO(name);
    REQUIRE_FALSE(reserved_name_reason(name, true).empty());
    REQUIRE(reserved_name_reason(name, false).empty());  // .kura is only the top folder
    REQUIRE_THROWS_WITH(check_tree_path(std::string(name) + "/store/CURRENT"), Catch::Contains(".kura on case-insensitive"));
  }
  for (const char* name : {".gitignore", ".github", "git", ".git-x", "a.git", ".gi", "GIT~2", ".kura-fanout.00", "kura"}) {
    INFO(name);
    REQUIRE(reserved_name_reason(name, true).empty());
  }
}

namespace {

std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st;
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("a pending file has no name until published and leaves nothing when dropped", "[util][fast]") {
  test::TempDir t;
  std::filesystem::create_directories(t / "work/images");
  std::filesystem::create_directories(t / "tmp");
  const std::string image = test::data_file("fish.jpg");
  std::string want;
  {
    PendingFile f(t / "work/images/fish.jpg", t / "tmp");
    f.write(image);  // a large piece, written as it is
    for (int i = 0; i < 1000; ++i) f.write("row " + std::to_string(i) + "\n");  // small ones, gathered
    want = image;
    for (int i = 0; i < 1000; ++i) want += "row " + std::to_string(i) + "\n";
    REQUIRE(f.size() == want.size());
    REQUIRE(names_in(t / "work/images").empty());
    REQUIRE(names_in(t / "tmp").empty());
    const mode_t old = ::umask(077);  // the mode is exact, whatever the umask
    f.publish(0755, Durable::kLater);
    ::umask(old);
  }
  REQUIRE(test::read_file(t / "work/images/fish.jpg") == want);
  REQUIRE(mode_of(t / "work/images/fish.jpg") == 0755);
  REQUIRE(names_in(t / "tmp").empty());
  {
    PendingFile dropped(t / "work/images/other.jpg", t / "tmp");
    dropped.write(image);
  }
  REQUIRE(names_in(t / "work/images") == std::vector<std::string>{"fish.jpg"});
  REQUIRE(names_in(t / "tmp").empty());
}

TEST_CASE("publishing a pending file over a file replaces it whole and leaves no temporary", "[util][fast]") {
  test::TempDir t;
  std::filesystem::create_directories(t / "tmp");
  test::write_file(t / "train.jsonl", "old\n");
  const std::string bytes = test::data_file("linux.jpg");
  write_file_atomic(t / "train.jsonl", 0644, t / "tmp", Durable::kNow, [&](const auto& write) { write(bytes); });
  REQUIRE(test::read_file(t / "train.jsonl") == bytes);
  REQUIRE(mode_of(t / "train.jsonl") == 0644);
  REQUIRE(names_in(t.path()).size() == 2);  // train.jsonl and tmp
  REQUIRE(names_in(t / "tmp").empty());
  // A folder in the way is an error naming the file, and nothing is left.
  std::filesystem::create_directories(t / "dir");
  REQUIRE_THROWS_WITH(write_file_atomic(t / "dir", 0644, t / "tmp", Durable::kLater,
                                        [&](const auto& write) { write(bytes); }),
                      Catch::Contains((t / "dir").string()));
  REQUIRE(names_in(t / "tmp").empty());
  REQUIRE(names_in(t / "dir").empty());
}
