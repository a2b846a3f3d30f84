// The row-level three-way merge of one table (src/repo/merge_rows.hpp), on
// real JSONL with inline images, byte-checked against the expected file.
#include <catch2/catch.hpp>

#include "kura/objects.hpp"
#include "kura/store.hpp"
#include "repo/fixture.hpp"
#include "repo/merge_rows.hpp"

using namespace kura;
using namespace kura::test;

namespace {

struct Tables {
  TempDir dir;
  std::unique_ptr<Store> store = Store::open(dir / "store", true);
  std::vector<RowRef> rows(const std::string& file) { return read_manifest(*store, store_table(*store, file).manifest); }
  RowMerge merge(const std::string& base, const std::string& ours, const std::string& theirs,
                 const std::string& key = "") {
    return merge_rows(*store, rows(base), rows(ours), rows(theirs), key);
  }
  std::string merged(const std::string& base, const std::string& ours, const std::string& theirs,
                     const std::string& key = "") {
    RowMerge m = merge(base, ours, theirs, key);
    REQUIRE(m.invalid.empty());
    REQUIRE(m.conflicts.empty());
    return render_merge(*store, m);
  }
};

std::string row(const std::string& id, const std::string& label, const std::string& image = "fish.jpg") {
  return keyed_example(id, label, image);
}

std::string lines(const std::vector<std::string>& rows, const char* end = "\n") { return join_rows(rows, end); }

const std::vector<std::string> kBase = {row("a", "cat"), row("b", "dog"), row("c", "fish"), row("d", "bird"),
                                        row("e", "frog")};

}  // namespace

TEST_CASE("rows changed on different sides merge: relabel, add, delete, change an image", "[merge][rows]") {
  Tables t;
  const std::string base = lines(kBase);
  // ours relabels b and adds x after c; theirs deletes d and swaps e's image.
  const std::string ours = lines({kBase[0], row("b", "puppy"), kBase[2], row("x", "new"), kBase[3], kBase[4]});
  const std::string theirs = lines({kBase[0], kBase[1], kBase[2], row("e", "frog", "linux.jpg")});
  const std::string expected = lines({kBase[0], row("b", "puppy"), kBase[2], row("x", "new"), row("e", "frog", "linux.jpg")});
  REQUIRE(t.merged(base, ours, theirs) == expected);
  REQUIRE(t.merged(base, theirs, ours) == expected);  // both ways
  REQUIRE(t.merged(base, ours, theirs, "/id") == expected);
}

TEST_CASE("rows added by both sides at one place are all kept, ours first, one both added once", "[merge][rows]") {
  Tables t;
  const std::string base = lines(kBase);
  const std::string ours = lines({kBase[0], kBase[1], row("o1", "o"), row("both", "same"), kBase[2], kBase[3], kBase[4]});
  const std::string theirs = lines({kBase[0], kBase[1], row("t1", "t"), row("both", "same"), kBase[2], kBase[3], kBase[4]});
  REQUIRE(t.merged(base, ours, theirs) ==
          lines({kBase[0], kBase[1], row("o1", "o"), row("both", "same"), row("t1", "t"), kBase[2], kBase[3], kBase[4]}));
}

TEST_CASE("the same change on both sides is taken once, a deletion on both too", "[merge][rows]") {
  Tables t;
  const std::string both = lines({kBase[0], row("b", "puppy"), kBase[2], kBase[4]});
  REQUIRE(t.merged(lines(kBase), both, both) == both);
}

TEST_CASE("the same row changed differently on both sides is a conflict of that row only", "[merge][rows]") {
  Tables t;
  const std::string ours = lines({kBase[0], row("b", "puppy"), kBase[2], row("c2", "added"), kBase[3], kBase[4]});
  const std::string theirs = lines({kBase[0], row("b", "hound"), kBase[2], kBase[3]});
  for (const std::string key : {"", "/id"}) {
    RowMerge m = t.merge(lines(kBase), ours, theirs, key);
    REQUIRE(m.invalid.empty());
    REQUIRE(m.conflicts.size() == 1);
    const RowConflict& c = m.conflicts[0];
    REQUIRE(c.kind == RowConflictKind::kBothChanged);
    REQUIRE(c.base_line == 2);
    REQUIRE(c.ours_line == 2);
    REQUIRE(c.theirs_line == 2);
    std::vector<uint64_t> at;
    const std::string file = render_merge(*t.store, m, &at);
    REQUIRE(at == std::vector<uint64_t>{2});
    // Everything else merged; the block holds ours, base and theirs whole.
    REQUIRE(file == lines({kBase[0], "<<<<<<< ours: line 2", row("b", "puppy"), "||||||| base: line 2", kBase[1],
                           "=======", row("b", "hound"), ">>>>>>> theirs: line 2", kBase[2], row("c2", "added"),
                           kBase[3]}));
  }
}

TEST_CASE("a row changed on one side and deleted on the other conflicts, the change kept in the block", "[merge][rows]") {
  Tables t;
  const std::string ours = lines({kBase[0], kBase[1], kBase[2], kBase[4]});                   // deletes d
  const std::string theirs = lines({kBase[0], kBase[1], kBase[2], row("d", "eagle"), kBase[4]});  // relabels d
  RowMerge m = t.merge(lines(kBase), ours, theirs);
  REQUIRE(m.conflicts.size() == 1);
  REQUIRE(m.conflicts[0].kind == RowConflictKind::kOursDeleted);
  REQUIRE(m.conflicts[0].ours_line == 0);
  REQUIRE(m.conflicts[0].theirs_line == 4);
  REQUIRE(render_merge(*t.store, m) == lines({kBase[0], kBase[1], kBase[2], "<<<<<<< ours: deleted",
                                              "||||||| base: line 4", kBase[3], "=======", row("d", "eagle"),
                                              ">>>>>>> theirs: line 4", kBase[4]}));
}

TEST_CASE("a key pairs rows that a side rewrote and reordered within a stretch", "[merge][rows]") {
  Tables t;
  // ours replaces b and c with c', new, b' (reordered): by key, c' is c changed.
  const std::string ours = lines({kBase[0], row("c", "carp"), row("n", "new"), kBase[3], kBase[4]});
  const std::string theirs = lines({kBase[0], kBase[1], row("c", "trout"), kBase[3], kBase[4]});
  RowMerge keyed = t.merge(lines(kBase), ours, theirs, "/id");
  REQUIRE(keyed.conflicts.size() == 1);  // c changed on both sides; b deleted by ours
  REQUIRE(keyed.conflicts[0].base_line == 3);
  REQUIRE(keyed.conflicts[0].ours_line == 2);
}

TEST_CASE("CRLF line ends and a last line without one keep their bytes", "[merge][rows]") {
  Tables t;
  const std::string base = lines(kBase, "\r\n");
  std::string ours = lines({kBase[0], row("b", "puppy"), kBase[2], kBase[3], kBase[4]}, "\r\n");
  const std::string theirs = lines({kBase[0], kBase[1], kBase[2], kBase[3], row("e", "toad")}, "\r\n");
  REQUIRE(t.merged(base, ours, theirs) == lines({kBase[0], row("b", "puppy"), kBase[2], kBase[3], row("e", "toad")}, "\r\n"));

  // No final newline in the base; both append a row (each without one).
  std::string nofinal = lines(kBase);
  nofinal.pop_back();
  std::string o = lines(kBase) + row("o", "x"), th = lines(kBase) + row("t", "y");
  REQUIRE(t.merged(nofinal, o, th) == lines(kBase) + row("o", "x") + "\n" + row("t", "y"));
  // Only one side touches the file: its bytes exactly, last line without end included.
  std::string relabel = lines({kBase[0], row("b", "puppy"), kBase[2], kBase[3]}) + kBase[4];
  REQUIRE(t.merged(nofinal, relabel, nofinal) == relabel);
  // One side turns the file to CRLF, the other relabels a row: both kept.
  REQUIRE(t.merged(lines(kBase), lines(kBase, "\r\n"), lines({kBase[0], row("b", "puppy"), kBase[2], kBase[3], kBase[4]})) ==
          lines({kBase[0], row("b", "puppy"), kBase[2], kBase[3], kBase[4]}, "\r\n"));
}

TEST_CASE("a side whose changed lines are not JSON is refused with its line", "[merge][rows]") {
  Tables t;
  const std::string theirs = lines({kBase[0], kBase[1], "not json {", kBase[3], kBase[4]});
  RowMerge m = t.merge(lines(kBase), lines({kBase[0], row("b", "puppy"), kBase[2], kBase[3], kBase[4]}), theirs);
  REQUIRE(m.invalid == "theirs' line 3 is not JSON");
  REQUIRE(m.rows.empty());
  REQUIRE(is_conflict_marker("<<<<<<< ours: line 2"));
  REQUIRE(is_conflict_marker("=======\r"));
  REQUIRE_FALSE(is_conflict_marker(kBase[0]));
}

TEST_CASE("a table added on both sides keeps every row once", "[merge][rows]") {
  Tables t;
  REQUIRE(t.merged("", lines({kBase[0], kBase[1]}), lines({kBase[1], kBase[2]})) == lines({kBase[0], kBase[1], kBase[2]}));
}
