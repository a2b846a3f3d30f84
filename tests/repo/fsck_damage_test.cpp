// fsck sees damage in every table's files, names what it hurts, and
// --repair rebuilds caches, resets the index and restores data from a remote.
#include <catch2/catch.hpp>
#include <git2.h>

#include <algorithm>
#include <set>

#include "fixture.hpp"
#include "kura/error.hpp"
#include "kura/remote.hpp"
#include "repo/index.hpp"
#include "repo/odb_backend.hpp"

using namespace kura;
using namespace kura::test;

namespace {

// kFlip: a byte of the first data block (of a blob file: its middle);
// kFlipIndex: a byte in the middle of an SST's index block; kFlipFooter: the
// metaindex handle in an SST's footer; kTruncate: the second half cut off.
enum class Damage { kFlip, kTruncate, kFlipIndex, kFlipFooter };

const char* name_of(Damage how) {
  switch (how) {
    case Damage::kFlip: return "flip";
    case Damage::kTruncate: return "truncate";
    case Damage::kFlipIndex: return "index block flip";
    case Damage::kFlipFooter: return "footer flip";
  }
  return "";
}

uint64_t varint(const std::string& bytes, size_t& at) {
  uint64_t v = 0;
  for (int shift = 0; at < bytes.size(); shift += 7) {
    const auto b = static_cast<uint8_t>(bytes[at++]);
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  return v;
}

// Where an SST's index block is, from its footer (RocksDB's block-based
// table, format version 1 and later: the last 53 bytes are the checksum
// type, the metaindex and index block handles, padding, version and magic).
size_t index_block_middle(const std::string& sst) {
  REQUIRE(sst.size() > 53);
  size_t at = sst.size() - 53 + 1;
  varint(sst, at);  // metaindex offset
  varint(sst, at);  // metaindex size
  const uint64_t offset = varint(sst, at), size = varint(sst, at);
  REQUIRE(offset + size < sst.size() - 53);
  REQUIRE(size > 0);
  return offset + size / 2;
}

// Damages the largest file of `table` on disk; returns its name.
std::string damage(RepoFixture& f, const std::string& table, StoreFile::Kind kind, Damage how) {
  f.repo->store().flush();
  StoreFile target;
  for (const auto& file : f.repo->store().files())
    if (file.table == table && file.kind == kind && file.size > target.size) target = file;
  REQUIRE(!target.path.empty());
  f.close();
  std::string bytes = read_file(target.path);
  if (how == Damage::kFlip)
    bytes[kind == StoreFile::Kind::kBlob ? bytes.size() / 2 : 24] ^= 0x5a;  // a blob, or the first data block
  else if (how == Damage::kFlipIndex)
    bytes[index_block_middle(bytes)] ^= 0x5a;
  else if (how == Damage::kFlipFooter)
    bytes[bytes.size() - 53 + 1] ^= 0x5a;  // the metaindex block's offset
  else
    bytes.resize(bytes.size() / 2);
  write_file(target.path, bytes);
  return target.path.filename().string();
}

FsckReport fsck(RepoFixture& f, Access access, FsckOptions o = {}) {
  f.repo.reset();
  OpenOptions open;
  open.access = access;
  f.repo = Repo::open(f.dir.path(), open);
  return f.repo->fsck(o);
}

bool has_finding(const FsckReport& r, const std::string& table, bool data) {
  for (const auto& p : r.problems)
    if (p.table == table && p.data == data) return true;
  return false;
}

void two_commits(RepoFixture& f) {
  f.write("a.jpg", data_file("fish.jpg"));
  f.write("train.jsonl", vision_example(data_file("linux.jpg"), "logo") + "\n");
  f.add_all();
  f.commit("first");
  f.write("b.png", data_file("pic1.png"));
  f.add_all();
  f.commit("second");
}

}  // namespace

TEST_CASE("Store::files names the files of every table", "[fsck][store]") {
  RepoFixture f;
  two_commits(f);
  f.repo->store().flush();
  std::set<std::string> tables;
  for (const auto& file : f.repo->store().files()) {
    REQUIRE(fs::exists(file.path));
    tables.insert(file.table + (file.kind == StoreFile::Kind::kBlob ? ":blob" : ""));
  }
  for (const char* t : {"objects", "objects:blob", "object_times", "index", "statcache", "git"})
    REQUIRE(tables.count(t));
}

TEST_CASE("fsck finds a damaged cache file and repair rebuilds it", "[fsck]") {
  const std::string table = GENERATE("statcache", "checks", "meta");
  const Damage how = GENERATE(Damage::kFlip, Damage::kTruncate, Damage::kFlipIndex, Damage::kFlipFooter);
  CAPTURE(table, name_of(how));
  RepoFixture f;
  two_commits(f);
  for (int i = 0; i < 50; ++i) {
    f.repo->store().put(Table::kChecks, "r1test/" + std::to_string(i), std::string(40, 'c'));
    f.repo->store().put(Table::kMeta, "pack:" + std::string(64, char('a' + i % 6)) + std::to_string(i), "");
  }
  const std::string file = damage(f, table, StoreFile::Kind::kTable, how);
  if (how == Damage::kTruncate) {
    // Every ordinary command says which file, which table and what to run.
    try {
      f.reopen();
      FAIL("the store opened with a truncated file");
    } catch (const Error& e) {
      const std::string m = e.what();
      REQUIRE(m.find(file) != std::string::npos);
      REQUIRE(m.find("table " + table) != std::string::npos);
      REQUIRE(m.find("kura fsck --repair") != std::string::npos);
    }
  }
  FsckReport r = fsck(f, Access::kInspect);
  REQUIRE_FALSE(r.ok());
  REQUIRE(has_finding(r, table, false));
  REQUIRE_FALSE(has_finding(r, "objects", true));
  FsckOptions repair;
  repair.repair = true;
  FsckReport fixed = fsck(f, Access::kRepair, repair);
  REQUIRE(fixed.ok());
  REQUIRE(fsck(f, Access::kReadOnly).problems.empty());
  f.reopen();
  REQUIRE(f.repo->status().staged.empty());
  REQUIRE(f.add_all().files_added == 0);
  REQUIRE(f.show("HEAD", "b.png") == data_file("pic1.png"));
}

TEST_CASE("fsck --repair resets a damaged index to HEAD and names the staged paths lost", "[fsck]") {
  const Damage how = GENERATE(Damage::kFlip, Damage::kTruncate);
  RepoFixture f;
  two_commits(f);
  f.write("new.jpg", data_file("windows.jpg"));
  f.add_all();
  damage(f, "index", StoreFile::Kind::kTable, how);
  FsckReport r = fsck(f, Access::kInspect);
  REQUIRE(has_finding(r, "index", true));
  FsckOptions repair;
  repair.repair = true;
  FsckReport fixed = fsck(f, Access::kRepair, repair);
  REQUIRE(fixed.ok());
  REQUIRE(std::find(fixed.index_paths_lost.begin(), fixed.index_paths_lost.end(), "new.jpg") !=
          fixed.index_paths_lost.end());
  f.reopen();
  auto status = f.repo->status();
  REQUIRE(status.staged.empty());  // the index is HEAD's again
  REQUIRE(f.repo->fsck().ok());
}

TEST_CASE("fsck --repair --from restores damaged objects and git objects from a folder remote", "[fsck][remote]") {
  const std::string table = GENERATE("objects", "git");
  const Damage how = GENERATE(Damage::kFlip, Damage::kTruncate);
  CAPTURE(table, how == Damage::kFlip ? "flip" : "truncate");
  RepoFixture f;
  TempDir remote;
  two_commits(f);
  add_remote(*f.repo, "origin", (remote / "r.kura").string());
  push(*f.repo, "origin", "", {});
  const std::string head = f.repo->refs().at(f.repo->head_ref());
  damage(f, table, table == "objects" ? StoreFile::Kind::kBlob : StoreFile::Kind::kTable, how);
  FsckReport r = fsck(f, Access::kInspect);
  REQUIRE_FALSE(r.ok());
  REQUIRE(has_finding(r, table, true));
  FsckOptions o;
  o.from = remote_object_source(*f.repo, "origin");
  o.repair = true;
  FsckReport fixed = fsck(f, Access::kRepair, o);
  for (const auto& p : fixed.problems)
    if (!p.repaired) UNSCOPED_INFO(p.table << " " << p.object << ": " << p.message);
  REQUIRE(fixed.ok());
  REQUIRE(fsck(f, Access::kReadOnly).problems.empty());
  f.reopen();
  REQUIRE(f.repo->refs().at(f.repo->head_ref()) == head);
  REQUIRE(f.show("HEAD", "a.jpg") == data_file("fish.jpg"));
  REQUIRE(f.show("HEAD", "b.png") == data_file("pic1.png"));
  REQUIRE(f.show("HEAD~1", "train.jsonl") == vision_example(data_file("linux.jpg"), "logo") + "\n");
}

TEST_CASE("fsck finds damage in the object_times and runs tables and repair leaves the commits readable", "[fsck]") {
  const std::string table = GENERATE("object_times", "runs");
  const Damage how = GENERATE(Damage::kFlip, Damage::kTruncate);
  CAPTURE(table, how == Damage::kFlip ? "flip" : "truncate");
  RepoFixture f;
  two_commits(f);
  for (int i = 0; i < 50; ++i)
    f.repo->store().put(Table::kRuns, "run:" + std::string(60, char('a' + i % 6)) + std::to_string(i),
                        std::string(80, 'r'));
  damage(f, table, StoreFile::Kind::kTable, how);
  FsckReport r = fsck(f, Access::kInspect);
  REQUIRE_FALSE(r.ok());
  bool named = false;
  for (const auto& p : r.problems) named = named || p.table == table;
  REQUIRE(named);
  FsckOptions repair;
  repair.repair = true;
  fsck(f, Access::kRepair, repair);
  f.reopen();
  REQUIRE(f.show("HEAD", "b.png") == data_file("pic1.png"));
  REQUIRE(f.show("HEAD~1", "a.jpg") == data_file("fish.jpg"));
  REQUIRE(f.add_all().files_added == 0);
}

TEST_CASE("kura fsck and fsck --repair on a truncated stat cache, driven like a user", "[fsck][cli]") {
  RepoFixture f;
  two_commits(f);
  const std::string file = damage(f, "statcache", StoreFile::Kind::kTable, Damage::kTruncate);
  auto status = run_kura(f.dir.path(), {"status"});
  REQUIRE(status.exit_code == 2);
  REQUIRE_THAT(status.err, Catch::Contains(file));
  REQUIRE_THAT(status.err, Catch::Contains("kura fsck --repair"));
  auto found = run_kura(f.dir.path(), {"fsck", "--json"});
  INFO(found.out << found.err);
  REQUIRE(found.exit_code == 1);
  REQUIRE_THAT(found.out, Catch::Contains("statcache"));
  auto repaired = run_kura(f.dir.path(), {"fsck", "--repair"});
  INFO(repaired.out << repaired.err);
  REQUIRE(repaired.exit_code == 0);
  REQUIRE(run_kura(f.dir.path(), {"fsck"}).exit_code == 0);
  auto after = run_kura(f.dir.path(), {"status", "--json"});
  REQUIRE(after.exit_code == 0);
  REQUIRE_THAT(after.out, Catch::Contains("\"staged\": []"));
  REQUIRE(run_kura(f.dir.path(), {"show", "HEAD:b.png"}).out == data_file("pic1.png"));
}

TEST_CASE("fsck names the rows of a damaged objects SST and repair --from restores them", "[fsck][remote]") {
  const Damage how = GENERATE(Damage::kFlip, Damage::kTruncate, Damage::kFlipIndex, Damage::kFlipFooter);
  CAPTURE(name_of(how));
  RepoFixture f;
  TempDir remote;
  two_commits(f);
  // Rows are small objects: they live in the objects table's SST files, not in blob files.
  std::string rows;
  for (int i = 0; i < 600; ++i)
    rows += R"({"id":)" + std::to_string(i) + R"(,"text":"row )" + std::to_string(i * 7919 % 1000003) + "\"}\n";
  f.write("rows.jsonl", rows);
  f.add_all();
  f.commit("rows");
  add_remote(*f.repo, "origin", (remote / "r.kura").string());
  push(*f.repo, "origin", "", {});
  damage(f, "objects", StoreFile::Kind::kTable, how);
  FsckReport r = fsck(f, Access::kInspect);
  REQUIRE_FALSE(r.ok());
  // Every finding is an object of this table; the damaged ones the walk
  // reaches are named with the file and the commit that use them. (Rows
  // under a lost manifest or chunk cannot be traced to a file: their
  // manifest, named, is what the file lacks.)
  bool row_named = false;
  for (const auto& p : r.problems) {
    INFO(p.table << " " << p.object << " " << p.kind << ": " << p.message);
    REQUIRE(p.table == "objects");
    REQUIRE(p.data);
    if (p.object.rfind("file:", 0) == 0) continue;
    REQUIRE(p.object.size() == 64);
    for (const auto& use : p.used_by)
      if (use.find("rows.jsonl") != std::string::npos) {
        row_named = true;
        REQUIRE_FALSE(p.commits.empty());
      }
  }
  REQUIRE(row_named);
  FsckOptions o;
  o.from = remote_object_source(*f.repo, "origin");
  o.repair = true;
  FsckReport fixed = fsck(f, Access::kRepair, o);
  for (const auto& p : fixed.problems)
    if (!p.repaired) UNSCOPED_INFO(p.table << " " << p.object << " " << p.kind << ": " << p.message);
  REQUIRE(fixed.ok());
  REQUIRE(fsck(f, Access::kReadOnly).problems.empty());
  f.reopen();
  REQUIRE(f.show("HEAD", "rows.jsonl") == rows);
  REQUIRE(f.show("HEAD", "b.png") == data_file("pic1.png"));
  REQUIRE(f.repo->status().staged.empty());
}

TEST_CASE("fsck reports a pointer whose size disagrees with its object and names the path", "[fsck]") {
  RepoFixture f;
  two_commits(f);
  // A pointer blob (as a clone may bring) that says a.jpg has one byte more
  // than its object holds, staged in the index.
  FileEntry entry = decode_entry("a.jpg", *f.repo->store().get(Table::kIndex, "a.jpg"));
  entry.pointer.size += 1;
  const std::string blob = entry.pointer.encode();
  git_oid oid;
  REQUIRE(git_odb_hash(&oid, blob.data(), blob.size(), GIT_OBJECT_BLOB) == 0);
  f.repo->store().put(Table::kGit, std::string(reinterpret_cast<const char*>(oid.id), GIT_OID_RAWSZ),
                      encode_git_value(GIT_OBJECT_BLOB, blob));
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof hex, &oid);
  entry.pointer_oid = hex;
  f.repo->store().put(Table::kIndex, "a.jpg", encode_entry(entry));
  f.repo->store().flush();
  FsckReport r = fsck(f, Access::kInspect);
  for (const auto& p : r.problems) UNSCOPED_INFO(p.table << " " << p.object << " " << p.kind << ": " << p.message);
  bool found = false;
  for (const auto& p : r.problems) {
    INFO(p.table << " " << p.object << " " << p.kind << ": " << p.message);
    if (p.kind != "mismatch") continue;
    found = true;
    REQUIRE(p.object == entry.pointer.object.hex());
    REQUIRE_THAT(p.message, Catch::Contains("a.jpg") && Catch::Contains(std::to_string(entry.pointer.size)));
    REQUIRE(std::find(p.used_by.begin(), p.used_by.end(), "index:a.jpg") != p.used_by.end());
  }
  REQUIRE(found);
}
