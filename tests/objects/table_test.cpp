#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "kura/objects.hpp"
#include "kura/store.hpp"
#include "support.hpp"

using namespace kura;
using namespace kura::test;

namespace {

std::string round_trip(Store& store, const std::string& file, TableInfo* info = nullptr) {
  TableInfo t = store_table(store, file);
  if (info) *info = t;
  std::string back;
  read_table(store, t.manifest, [&](std::string_view piece) { back.append(piece); });
  return back;
}

std::string example(const std::string& image_b64, const std::string& label) {
  return R"({"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},)"
         R"({"type":"image_url","image_url":{"url":"data:image/jpeg;base64,)" +
         image_b64 + R"("}}]},{"role":"assistant","content":")" + label + R"("}]})";
}

}  // namespace

TEST_CASE("a JSONL file with inline images comes back byte for byte", "[objects]") {
  TempDir dir;
  auto store = Store::open(dir / "store", true);
  const std::string fish = base64(data_file("fish.jpg")), linux_logo = base64(data_file("linux.jpg"));
  const std::string file = example(fish, "fish") + "\n" + example(linux_logo, "logo") + "\n";
  TableInfo info;
  REQUIRE(round_trip(*store, file, &info) == file);
  REQUIRE(info.rows == 2);
  REQUIRE(info.images == 2);
  REQUIRE(info.file_sha == sha256(file));
  // The images are media objects holding the decoded JPEG bytes.
  REQUIRE(store->get_object(sha256(data_file("fish.jpg"))) == data_file("fish.jpg"));
}

TEST_CASE("odd line ends, empty lines and invalid JSON survive exactly", "[objects]") {
  TempDir dir;
  auto store = Store::open(dir / "store", true);
  const std::string img = base64(data_file("linux.jpg"));
  const std::vector<std::string> files = {
      example(img, "crlf") + "\r\n" + example(img, "lf") + "\n",  // mixed line ends
      example(img, "no newline at the end"),
      "\n\n" + example(img, "after empty lines") + "\n\n\r\n",
      "{not json at all\n{\"a\": [1, 2,\n" + example(img, "x") + "\n",
      "",
      "\r",
      "plain text, no json, \xff\xfe invalid utf-8\n",
  };
  for (const auto& file : files) {
    INFO("file: " << file.substr(0, 60));
    REQUIRE(round_trip(*store, file) == file);
  }
}

TEST_CASE("non-canonical base64 stays inline as it was", "[objects]") {
  TempDir dir;
  auto store = Store::open(dir / "store", true);
  std::string img = base64(data_file("linux.jpg"));
  std::string wrapped = img.substr(0, 76) + "\\n" + img.substr(76);  // a JSON-escaped line break
  std::string unpadded = base64(data_file("linux.jpg").substr(0, 1000));
  while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
  std::string escaped_slash = img;
  for (size_t p = 0; (p = escaped_slash.find('/', p)) != std::string::npos; p += 2) escaped_slash.replace(p, 1, "\\/");
  for (const auto& payload : {wrapped, unpadded, escaped_slash}) {
    std::string file = example(payload, "kept") + "\n";
    TableInfo info;
    REQUIRE(round_trip(*store, file, &info) == file);
    REQUIRE(info.images == 0);
    REQUIRE(info.inline_kept == 1);
  }
}

TEST_CASE("a stored row keeps valid JSON with the payload cut out", "[objects][fast]") {
  const std::string jpeg = data_file("fish.jpg");
  std::vector<std::string> decoded;
  Row row = split_row(example(base64(jpeg), "fish"), &decoded);
  REQUIRE(row.images.size() == 1);
  REQUIRE(decoded.at(0) == jpeg);
  REQUIRE(row.images[0].media == sha256(jpeg));
  auto j = nlohmann::json::parse(row.body);
  REQUIRE(j["messages"][0]["content"][1]["image_url"]["url"] == "data:image/jpeg;base64,");
  REQUIRE(decode_row(encode_row(row), sha256("x")).body == row.body);
}

TEST_CASE("an image used in many rows and many versions is stored once", "[objects]") {
  TempDir dir;
  auto store = Store::open(dir / "store", true);
  const std::string img = base64(data_file("fish.jpg"));
  std::string v1, v2;
  for (int i = 0; i < 50; ++i) v1 += example(img, "label " + std::to_string(i)) + "\n";
  v2 = v1 + example(img, "one more") + "\n";
  round_trip(*store, v1);
  const uint64_t written = store->counters().objects_written;
  const uint64_t bytes = store->counters().bytes_written;
  // 50 rows + 1 image + chunks + manifest; the image bytes once.
  REQUIRE(written <= 50 + 1 + 3 + 1);
  REQUIRE(bytes < data_file("fish.jpg").size() + 50 * 400);
  REQUIRE(round_trip(*store, v2) == v2);
  // The second version adds one row, its chunk(s) and a manifest, not 51 rows.
  REQUIRE(store->counters().objects_written - written <= 4);
}

TEST_CASE("a large table is chunked so that versions share chunks", "[objects]") {
  TempDir dir;
  auto store = Store::open(dir / "store", true);
  std::string v1;
  for (int i = 0; i < 20000; ++i) v1 += R"({"id":)" + std::to_string(i) + R"(,"label":"cat"})" + "\n";
  std::string v2 = v1;
  v2.replace(v2.find(R"({"id":12345,"label":"cat"})"), 26, R"({"id":12345,"label":"dog"})");
  TableInfo a = store_table(*store, v1), b = store_table(*store, v2);
  auto ca = manifest_chunks(*store, a.manifest), cb = manifest_chunks(*store, b.manifest);
  REQUIRE(ca.size() > 20);
  REQUIRE(ca.size() == cb.size());
  size_t differ = 0;
  for (size_t i = 0; i < ca.size(); ++i) differ += ca[i] != cb[i];
  REQUIRE(differ == 1);
  REQUIRE(read_manifest(*store, b.manifest).size() == 20000);
}

TEST_CASE("pointers encode and decode, and garbage is refused", "[objects][fast]") {
  Pointer p;
  p.kind = FileKind::kTable;
  p.object = sha256("manifest");
  p.file_sha = sha256("file");
  p.size = 1234;
  p.rows = 7;
  Pointer q = Pointer::decode(p.encode(), "t");
  REQUIRE(q.kind == p.kind);
  REQUIRE(q.object == p.object);
  REQUIRE(q.file_sha == p.file_sha);
  REQUIRE(q.rows == 7);
  REQUIRE(q.size == 1234);
  REQUIRE_THROWS_WITH(Pointer::decode("hello\n", "images/a.jpg"), Catch::Contains("images/a.jpg"));
}

TEST_CASE("a table with thousands of distinct images reads back exactly, across stretches and chunks", "[objects]") {
  TempDir dir;
  auto store = Store::open(dir / "store", true);
  // 3,000 distinct images (a real JPEG with a different trailing byte pair
  // each: readers ignore bytes after EOI), each used by two rows far apart,
  // CRLF and LF mixed and no newline at the end: more images than one
  // stretch holds and more rows than one chunk.
  const std::string jpeg = data_file("fish.jpg");
  std::string file;
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i < 3000; ++i) {
      std::string img = jpeg + static_cast<char>(i & 0xff) + static_cast<char>(i >> 8);
      file += example(base64(img), "label " + std::to_string(i)) + (i % 7 == 0 ? "\r\n" : "\n");
    }
  file += example(base64(jpeg), "last");
  TableInfo info;
  REQUIRE(round_trip(*store, file, &info) == file);
  REQUIRE(info.rows == 6001);
  REQUIRE(manifest_chunks(*store, info.manifest).size() > 1);
}

TEST_CASE("bulk object reads verify SHA-256 when asked and name what is missing", "[objects][fast]") {
  TempDir dir;
  auto store = Store::open(dir / "store", true);
  const std::string jpeg = data_file("fish.jpg");
  const ObjectId good = store->put_object(jpeg);
  // A value that does not hash to its key: what a damaged disk would return.
  const ObjectId lying = sha256("what the key promises");
  store->put_object(lying, jpeg);
  std::vector<ObjectId> ids(300, good);
  REQUIRE(read_objects(*store, ids, ObjectCheck::kSha256) == std::vector<std::string>(300, jpeg));
  ids[250] = lying;
  REQUIRE_THROWS_WITH(read_objects(*store, ids, ObjectCheck::kSha256),
                      Catch::Contains(lying.hex()) && Catch::Contains("does not match its SHA-256"));
  REQUIRE(read_objects(*store, {lying}, ObjectCheck::kByCaller)[0] == jpeg);  // the caller's hash catches it
  const ObjectId absent = sha256("never stored");
  ids[250] = absent;
  REQUIRE_THROWS_WITH(read_objects(*store, ids, ObjectCheck::kSha256),
                      Catch::Contains(absent.hex()) && Catch::Contains("not found"));
  REQUIRE_FALSE(store->get_objects({absent}, ObjectCheck::kSha256)[0]);
}

TEST_CASE("a table stored from rows already stored has the manifest and SHA-256 of its bytes", "[objects][merge]") {
  TempDir dir;
  auto store = Store::open(dir / "store", true);
  std::string file;
  for (int i = 0; i < 3000; ++i)
    file += (i % 7 ? R"({"n":)" + std::to_string(i) + "}" : example(base64(data_file("fish.jpg")), std::to_string(i))) +
            (i % 3 ? "\n" : "\r\n");
  file += "last line, no end";
  const TableInfo whole = store_table(*store, file);
  for (unsigned threads : {1u, 2u, 5u}) {
    const TableInfo rows = store_table_rows(*store, read_manifest(*store, whole.manifest), threads);
    REQUIRE(rows.manifest == whole.manifest);
    REQUIRE(rows.file_sha == whole.file_sha);
    REQUIRE(rows.size == whole.size);
    REQUIRE(rows.rows == 3001);
  }
  REQUIRE(store_table_rows(*store, {}).file_sha == sha256(""));
}
