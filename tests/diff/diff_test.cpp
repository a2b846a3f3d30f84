// kura diff on real JSONL with inline real photos: rows added, removed,
// modified (text and image), moved and duplicated; keyed and unkeyed; CRLF;
// lines that stop being JSON; renames; a re-encoded image; labels; and the
// work a diff of a large table skips.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "kura/diff.hpp"
#include "kura/error.hpp"
#include "repo/fixture.hpp"

using namespace kura;
using namespace kura::test;
using nlohmann::json;

namespace {

std::string photo(const std::string& name) {
  if (name.rfind("check/", 0) == 0) return read_file(data_path("") / ".." / name.substr(0, 5) / "data" / name.substr(6));
  return data_file(name);
}

// One chat-format example with a text part and an inline photo.
std::string example(int id, const std::string& question, const std::string& image, const std::string& answer) {
  return R"({"id":)" + std::to_string(id) + R"(,"messages":[{"role":"user","content":[{"type":"text","text":")" +
         question + R"("},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,)" + base64(photo(image)) +
         R"("}}]},{"role":"assistant","content":")" + answer + R"("}]})";
}

std::string lines(const std::vector<std::string>& rows, const std::string& end = "\n") {
  std::string out;
  for (const auto& r : rows) out += r + end;
  return out;
}

std::string commit_file(RepoFixture& f, const std::string& path, const std::string& bytes, const std::string& msg) {
  f.write(path, bytes);
  f.add_all();
  return f.commit(msg).id;
}

DiffReport diff_of(RepoFixture& f, const std::string& from, const std::string& to, const std::string& key = "",
                   DiffDetail detail = DiffDetail::kFull) {
  DiffOptions o;
  o.from = from;
  o.to = to;
  o.key = key;
  o.detail = detail;
  return diff(*f.repo, o);
}

const FileDiff& file(const DiffReport& r, const std::string& path) {
  for (const auto& f : r.files)
    if (f.path == path) return f;
  FAIL("no diff for " << path);
  throw;
}

std::vector<std::string> kinds(const FileDiff& f) {
  std::vector<std::string> out;
  for (const auto& c : f.rows) out.push_back(row_change_name(c.kind));
  return out;
}

std::string spans(const ValueChange& c) {
  std::string out;
  for (const auto& s : c.text)
    out += s.op == TextSpan::Op::kSame ? s.text : s.op == TextSpan::Op::kRemoved ? "[-" + s.text + "-]" : "{+" + s.text + "+}";
  return out;
}

const ValueChange* change_at(const RowChange& c, const std::string& pointer) {
  for (const auto& v : c.changes)
    if (v.pointer == pointer) return &v;
  return nullptr;
}

}  // namespace

TEST_CASE("diff aligns rows: added, removed, modified in text and image, moved", "[diff]") {
  RepoFixture f;
  const std::string v1 = commit_file(f, "train.jsonl",
                                     lines({example(1, "What is this?", "fish.jpg", "fish"),
                                            example(2, "Which logo?", "linux.jpg", "logo"),
                                            example(3, "And this one?", "windows.jpg", "logo"),
                                            example(4, "Name it.", "check/baboon.jpg", "monkey"),
                                            example(5, "What is shown?", "check/building.jpg", "building"),
                                            example(6, "Describe it.", "check/home.jpg", "house")}),
                                     "v1");
  const std::string v2 = commit_file(f, "train.jsonl",
                                     lines({example(1, "What is this?", "fish.jpg", "fish"),
                                            example(2, "Which logo is this?", "linux.jpg", "penguin logo"),
                                            example(3, "And this one?", "fish.jpg", "logo"),
                                            example(6, "Describe it.", "check/home.jpg", "house"),
                                            example(5, "What is shown?", "check/building.jpg", "building"),
                                            example(7, "New one.", "check/fruits.jpg", "fruit")}),
                                     "v2");
  DiffReport r = diff_of(f, v1, v2);
  REQUIRE(r.files.size() == 1);
  const FileDiff& t = file(r, "train.jsonl");
  REQUIRE(t.status == FileDiff::Status::kModified);
  REQUIRE(t.table);
  CHECK(t.stat.old_rows == 6);
  CHECK(t.stat.new_rows == 6);
  CHECK(t.stat.modified == 2);
  CHECK(t.stat.removed == 1);
  CHECK(t.stat.added == 1);
  CHECK(t.stat.moved == 1);
  // Images: windows.jpg -> fish.jpg in row 3, baboon gone with row 4, fruits new in row 7.
  CHECK(t.stat.images_added == 2);
  CHECK(t.stat.images_removed == 2);

  // Row 2: the question and the answer, as word diffs.
  const RowChange* row2 = nullptr;
  const RowChange* row3 = nullptr;
  for (const auto& c : t.rows) {
    if (c.kind == RowChange::Kind::kModified && c.old_line == 2) row2 = &c;
    if (c.kind == RowChange::Kind::kModified && c.old_line == 3) row3 = &c;
  }
  REQUIRE(row2);
  REQUIRE(row2->new_line == 2);
  REQUIRE(row2->changes.size() == 2);
  const ValueChange* q = change_at(*row2, "/messages/0/content/0/text");
  REQUIRE(q);
  CHECK(q->message == 0);
  CHECK(q->part == 0);
  CHECK(spans(*q) == "Which logo{+ is this+}?");
  const ValueChange* a = change_at(*row2, "/messages/1/content");
  REQUIRE(a);
  CHECK(a->message == 1);
  CHECK(a->part == -1);
  CHECK(spans(*a) == "{+penguin +}logo");

  // Row 3: only the image, with both object ids and real dimensions.
  REQUIRE(row3);
  REQUIRE(row3->changes.size() == 1);
  const ValueChange& im = row3->changes[0];
  CHECK(im.pointer == "/messages/0/content/1/image_url/url");
  CHECK(im.part == 1);
  REQUIRE(im.old_image);
  REQUIRE(im.new_image);
  CHECK(im.old_image->object == sha256(photo("windows.jpg")));
  CHECK(im.new_image->object == sha256(photo("fish.jpg")));
  CHECK(im.old_image->known);
  CHECK(im.old_image->format == "jpeg");
  CHECK(im.new_image->width == 259);
  CHECK(im.new_image->height == 194);
  CHECK(im.new_image->mode == "rgb");

  // Row 4 removed, row 6 moved up past row 5, row 7 added with its image.
  for (const auto& c : t.rows) {
    if (c.kind == RowChange::Kind::kRemoved) {
      CHECK(c.old_line == 4);
      CHECK(c.row["id"] == 4);
      REQUIRE(c.images.size() == 1);
      CHECK(c.images[0].width == 512);
    }
    if (c.kind == RowChange::Kind::kMoved) {  // 5 and 6 swapped: one of them moved
      CHECK(c.old_row == c.new_row);
      CHECK(((c.old_line == 6 && c.new_line == 4) || (c.old_line == 5 && c.new_line == 5)));
    }
    if (c.kind == RowChange::Kind::kAdded) {
      CHECK(c.new_line == 6);
      CHECK(c.row["messages"][1]["content"] == "fruit");
    }
  }
  // Never base64: the whole report is smaller than one inlined photo.
  const std::string dumped = r.to_json().dump();
  CHECK(dumped.find(base64(photo("fish.jpg")).substr(0, 40)) == std::string::npos);
  CHECK(dumped.find("base64,/9j/") == std::string::npos);
  CHECK(dumped.find("[image/jpeg sha256:" + sha256(photo("check/fruits.jpg")).hex() + "]") != std::string::npos);
}

TEST_CASE("diff --key pairs rows by id wherever they moved, and unkeyed pairs them by place", "[diff]") {
  RepoFixture f;
  const std::string v1 = commit_file(f, "train.jsonl",
                                     lines({example(1, "What is this?", "fish.jpg", "fish"),
                                            example(2, "Which logo?", "linux.jpg", "logo"),
                                            example(3, "And this?", "windows.jpg", "logo")}),
                                     "v1");
  const std::string v2 = commit_file(f, "train.jsonl",
                                     lines({example(3, "And this?", "windows.jpg", "window logo"),
                                            example(2, "Which logo?", "linux.jpg", "logo"),
                                            example(1, "What is this?", "fish.jpg", "a fish")}),
                                     "v2");
  DiffReport keyed = diff_of(f, v1, v2, "/id");
  const FileDiff& t = file(keyed, "train.jsonl");
  CHECK(t.stat.modified == 2);
  CHECK(t.stat.added == 0);
  CHECK(t.stat.removed == 0);
  for (const auto& c : t.rows) {
    REQUIRE(c.kind == RowChange::Kind::kModified);
    REQUIRE(c.changes.size() == 1);
    CHECK(c.changes[0].pointer == "/messages/1/content");
    if (c.key == "1") CHECK((c.old_line == 1 && c.new_line == 3));
    else CHECK((c.key == "3" && c.old_line == 3 && c.new_line == 1));
  }
  // Without a key, rows are paired by place: line 1 with line 1, and the id differs.
  DiffReport unkeyed = diff_of(f, v1, v2);
  const FileDiff& u = file(unkeyed, "train.jsonl");
  CHECK(u.stat.modified == 2);
  const RowChange& first = u.rows.front();
  CHECK(first.old_line == 1);
  CHECK(first.new_line == 1);
  CHECK(change_at(first, "/id") != nullptr);
  // A key that is no JSON pointer is refused.
  REQUIRE_THROWS_AS(diff_of(f, v1, v2, "id"), Error);
}

TEST_CASE("diff counts duplicate rows: one more or one fewer copy", "[diff]") {
  RepoFixture f;
  const std::string a = example(1, "What is this?", "fish.jpg", "fish"), b = example(2, "Which logo?", "linux.jpg", "logo");
  const std::string v1 = commit_file(f, "train.jsonl", lines({a, b, a}), "v1");
  const std::string v2 = commit_file(f, "train.jsonl", lines({a, b, a, a}), "v2");
  const std::string v3 = commit_file(f, "train.jsonl", lines({b, a}), "v3");
  const DiffReport r12 = diff_of(f, v1, v2);
  const FileDiff& more = file(r12, "train.jsonl");
  CHECK(kinds(more) == std::vector<std::string>{"added"});
  CHECK(more.rows[0].new_line == 4);
  CHECK(more.stat.images_added == 1);
  const DiffReport r23 = diff_of(f, v2, v3);
  const FileDiff& fewer = file(r23, "train.jsonl");
  CHECK(fewer.stat.removed == 2);
  CHECK(fewer.stat.added == 0);
  CHECK(fewer.stat.modified == 0);
}

TEST_CASE("diff of CRLF files: line ends are counted, not shown as row changes", "[diff]") {
  RepoFixture f;
  const std::vector<std::string> rows = {example(1, "What is this?", "fish.jpg", "fish"),
                                         example(2, "Which logo?", "linux.jpg", "logo")};
  const std::string v1 = commit_file(f, "train.jsonl", lines(rows, "\r\n"), "crlf");
  const std::string v2 = commit_file(f, "train.jsonl", lines(rows, "\n"), "lf");
  const DiffReport r12 = diff_of(f, v1, v2);
  const FileDiff& ends = file(r12, "train.jsonl");
  CHECK(ends.stat.line_ends_changed == 2);
  CHECK(ends.rows.empty());
  // A change inside a CRLF file: the text diff carries no carriage return.
  const std::string v3 = commit_file(f, "train.jsonl",
                                     lines({rows[0], example(2, "Which logo?", "linux.jpg", "tux")}, "\r\n"), "crlf edit");
  const DiffReport r13 = diff_of(f, v1, v3);
  const FileDiff& edit = file(r13, "train.jsonl");
  REQUIRE(edit.rows.size() == 1);
  CHECK(edit.stat.line_ends_changed == 0);
  const ValueChange* c = change_at(edit.rows[0], "/messages/1/content");
  REQUIRE(c);
  CHECK(spans(*c) == "[-logo-]{+tux+}");
  CHECK(edit.rows[0].changes[0].new_value.get<std::string>().find('\r') == std::string::npos);
}

TEST_CASE("diff of a table whose lines stopped being JSON compares them as text", "[diff]") {
  RepoFixture f;
  const std::string v1 = commit_file(f, "train.jsonl",
                                     lines({R"({"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]})",
                                            example(2, "Which logo?", "linux.jpg", "logo")}),
                                     "v1");
  const std::string v2 = commit_file(f, "train.jsonl",
                                     lines({R"({"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello")",
                                            "not json at all"}),
                                     "v2");
  const DiffReport r = diff_of(f, v1, v2);
  const FileDiff& t = file(r, "train.jsonl");
  REQUIRE(t.rows.size() == 2);
  for (const auto& c : t.rows) {
    REQUIRE(c.kind == RowChange::Kind::kModified);
    CHECK(c.old_json);
    CHECK_FALSE(c.new_json);
    REQUIRE(c.changes.size() == 1);
    CHECK(c.changes[0].pointer == "");
    CHECK(c.changes[0].new_value.is_string());
  }
  CHECK(spans(t.rows[0].changes[0]).find("[-}]}-]") != std::string::npos);
  // The old side of row 2 shows its image as a marker, not as base64.
  const std::string old2 = t.rows[1].changes[0].old_value.get<std::string>();
  CHECK(old2.find("[image/jpeg sha256:" + sha256(photo("linux.jpg")).hex() + "]") != std::string::npos);
}

TEST_CASE("diff finds renamed files and reports image files with their facts", "[diff]") {
  RepoFixture f;
  f.write("images/fish.jpg", photo("fish.jpg"));
  f.write("images/logo.jpg", photo("linux.jpg"));
  f.write("train.jsonl", lines({example(1, "What is this?", "fish.jpg", "fish")}));
  f.add_all();
  const std::string v1 = f.commit("v1").id;
  fs::rename(f / "images/fish.jpg", f / "images/animal.jpg");
  fs::rename(f / "train.jsonl", f / "train-2024.jsonl");
  f.write("images/logo.jpg", photo("windows.jpg"));
  f.write("images/new.png", photo("pic1.png"));
  f.add_all();
  const std::string v2 = f.commit("v2").id;
  DiffReport r = diff_of(f, v1, v2);
  REQUIRE(r.files.size() == 4);
  const FileDiff& animal = file(r, "images/animal.jpg");
  CHECK(animal.status == FileDiff::Status::kRenamed);
  CHECK(animal.old_path == "images/fish.jpg");
  const FileDiff& table = file(r, "train-2024.jsonl");
  CHECK(table.status == FileDiff::Status::kRenamed);
  CHECK(table.old_path == "train.jsonl");
  const FileDiff& logo = file(r, "images/logo.jpg");
  CHECK(logo.status == FileDiff::Status::kModified);
  REQUIRE(logo.old_image);
  REQUIRE(logo.new_image);
  CHECK(logo.old_image->object == sha256(photo("linux.jpg")));
  CHECK(logo.new_image->format == "jpeg");
  CHECK(logo.new_image->width > 0);
  const FileDiff& png = file(r, "images/new.png");
  CHECK(png.status == FileDiff::Status::kAdded);
  REQUIRE(png.new_image);
  CHECK(png.new_image->format == "png");
  CHECK(r.totals.files_renamed == 2);
  CHECK(r.totals.images_added == 2);
  CHECK(r.totals.images_removed == 1);
}

TEST_CASE("diff shows an image replaced by a re-encoded copy of itself as the same size, near in pHash", "[diff]") {
  RepoFixture f;
  const std::string v1 = commit_file(f, "train.jsonl", lines({example(1, "What is this?", "check/video-001.jpg", "video")}), "v1");
  const std::string v2 = commit_file(f, "train.jsonl", lines({example(1, "What is this?", "check/video-001.q50.jpg", "video")}), "v2");
  const DiffReport r = diff_of(f, v1, v2);
  const FileDiff& t = file(r, "train.jsonl");
  REQUIRE(t.rows.size() == 1);
  REQUIRE(t.rows[0].changes.size() == 1);
  const ValueChange& c = t.rows[0].changes[0];
  REQUIRE(c.old_image);
  REQUIRE(c.new_image);
  CHECK(c.old_image->object != c.new_image->object);
  CHECK(c.old_image->width == 150);
  CHECK(c.new_image->width == 150);
  CHECK(c.old_image->height == c.new_image->height);
  CHECK(c.old_image->bytes > c.new_image->bytes);
  CHECK(c.image_distance >= 0);
  CHECK(c.image_distance <= 8);
}

TEST_CASE("diff of the working folder stores files on the fly and leaves the index alone", "[diff]") {
  RepoFixture f;
  commit_file(f, "train.jsonl", lines({example(1, "What is this?", "fish.jpg", "fish")}), "v1");
  const auto index_before = f.repo->ls_files("");
  f.write("train.jsonl", lines({example(1, "What is this?", "fish.jpg", "a fish"), example(2, "Which logo?", "linux.jpg", "logo")}));
  f.write("untracked.jpg", photo("windows.jpg"));
  DiffOptions o;  // HEAD against the working folder
  DiffReport r = diff(*f.repo, o);
  REQUIRE(r.files.size() == 1);  // untracked files are not part of it, as in git
  const FileDiff& t = file(r, "train.jsonl");
  CHECK(r.to.empty());
  CHECK(t.stat.modified == 1);
  CHECK(t.stat.added == 1);
  const auto index_after = f.repo->ls_files("");
  REQUIRE(index_after.size() == index_before.size());
  CHECK(index_after[0].pointer_oid == index_before[0].pointer_oid);
  // One revision: that commit against the working folder; a path limits it.
  o.from = "HEAD";
  o.paths = {(f / "images").string()};
  CHECK(diff(*f.repo, o).files.empty());
}

TEST_CASE("diff --labels counts the assistant answers on both sides", "[diff]") {
  RepoFixture f;
  const std::string v1 = commit_file(f, "train.jsonl",
                                     lines({example(1, "a", "fish.jpg", "fish"), example(2, "b", "linux.jpg", "logo"),
                                            example(3, "c", "windows.jpg", "logo")}),
                                     "v1");
  const std::string v2 = commit_file(f, "train.jsonl",
                                     lines({example(1, "a", "fish.jpg", "animal"), example(2, "b", "linux.jpg", "logo"),
                                            example(3, "c", "windows.jpg", "logo"), example(4, "d", "fish.jpg", "animal")}),
                                     "v2");
  DiffOptions o;
  o.from = v1;
  o.to = v2;
  o.labels = true;
  DiffReport r = diff(*f.repo, o);
  REQUIRE(r.labels.size() == 1);
  std::map<std::string, std::pair<uint64_t, uint64_t>> got;
  for (const auto& l : r.labels[0].labels) got[l.label] = {l.old_count, l.new_count};
  CHECK(got["fish"] == std::make_pair(uint64_t(1), uint64_t(0)));
  CHECK(got["animal"] == std::make_pair(uint64_t(0), uint64_t(2)));
  CHECK(got["logo"] == std::make_pair(uint64_t(2), uint64_t(2)));
  CHECK(r.labels[0].labels[0].label == "animal");  // the biggest change first
  // Again, from the per-chunk cache: the same counts.
  DiffReport again = diff(*f.repo, o);
  REQUIRE(again.labels.size() == 1);
  REQUIRE(again.labels[0].labels.size() == r.labels[0].labels.size());
  for (size_t i = 0; i < r.labels[0].labels.size(); ++i) {
    CHECK(again.labels[0].labels[i].label == r.labels[0].labels[i].label);
    CHECK(again.labels[0].labels[i].new_count == r.labels[0].labels[i].new_count);
  }
  o.label_field = "/id";
  r = diff(*f.repo, o);
  CHECK(r.labels[0].labels.size() == 4);
}

TEST_CASE("diff of a large table reads only the chunks that differ", "[diff]") {
  RepoFixture f;
  std::vector<std::string> rows;
  for (int i = 0; i < 5000; ++i)
    rows.push_back(R"({"id":)" + std::to_string(i) + R"(,"messages":[{"role":"user","content":"question )" + std::to_string(i) +
                   R"("},{"role":"assistant","content":"answer )" + std::to_string(i % 7) + R"("}]})");
  const std::string v1 = commit_file(f, "big.jsonl", lines(rows), "v1");
  rows[2500] = R"({"id":2500,"messages":[{"role":"user","content":"question 2500"},{"role":"assistant","content":"changed"}]})";
  rows.push_back(R"({"id":5000,"messages":[{"role":"user","content":"question 5000"},{"role":"assistant","content":"new"}]})");
  const std::string v2 = commit_file(f, "big.jsonl", lines(rows), "v2");
  DiffReport r = diff_of(f, v1, v2, "", DiffDetail::kStat);
  const FileDiff& t = file(r, "big.jsonl");
  CHECK(t.stat.modified == 1);
  CHECK(t.stat.added == 1);
  CHECK(t.stat.removed == 0);
  CHECK(t.rows.empty());             // --stat keeps no rows
  CHECK(t.stat.chunks_skipped > 5);  // most of ~20 chunks are shared
  CHECK(t.stat.rows_read < 2000);
  // --name-only reads no table at all.
  DiffReport names = diff_of(f, v1, v2, "", DiffDetail::kNames);
  CHECK(file(names, "big.jsonl").stat.rows_read == 0);
  CHECK(file(names, "big.jsonl").stat.modified == 0);
}

TEST_CASE("kura diff: text, --stat, --name-only, --json and --exit-code", "[diff][cli]") {
  TempDir d;
  REQUIRE(run_kura(d.path(), {"init"}).exit_code == 0);
  write_file(d / ".kura/checks.json", R"({"profile": "generic"})");
  write_file(d / "train.jsonl", lines({example(1, "What is this?", "fish.jpg", "fish"), example(2, "Which logo?", "linux.jpg", "logo")}));
  REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"commit", "-m", "v1"}).exit_code == 0);
  CHECK(run_kura(d.path(), {"diff", "--exit-code"}).exit_code == 0);
  write_file(d / "train.jsonl", lines({example(1, "What is this?", "fish.jpg", "a fish"), example(2, "Which logo?", "linux.jpg", "logo")}));
  auto text = run_kura(d.path(), {"diff"});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("{+a +}fish") != std::string::npos);
  CHECK(run_kura(d.path(), {"diff", "--exit-code"}).exit_code == 1);
  CHECK(run_kura(d.path(), {"diff", "--name-only"}).out == "train.jsonl\n");
  auto stat = run_kura(d.path(), {"diff", "--stat"});
  CHECK(stat.out.find("rows +0 -0 ~1") != std::string::npos);
  REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"commit", "-m", "v2"}).exit_code == 0);
  auto j = run_kura(d.path(), {"diff", "HEAD~1", "HEAD", "--json", "--labels"});
  REQUIRE(j.exit_code == 0);
  json report = json::parse(j.out);
  CHECK(report["files"][0]["stat"]["modified"] == 1);
  CHECK(report["files"][0]["rows"][0]["changes"][0]["pointer"] == "/messages/1/content");
  CHECK(report["labels"][0]["labels"].size() == 3);
  CHECK(run_kura(d.path(), {"diff", "nosuchrev"}).exit_code == 2);
}

TEST_CASE("diff pairs a changed row with its most similar new row when a row was inserted beside it", "[diff]") {
  RepoFixture f;
  const std::string v1 = commit_file(f, "train.jsonl",
                                     lines({example(1, "What is this?", "fish.jpg", "fish"),
                                            example(2, "Which logo?", "linux.jpg", "logo"),
                                            example(3, "And this?", "windows.jpg", "logo")}),
                                     "v1");
  const std::string v2 = commit_file(f, "train.jsonl",
                                     lines({example(1, "What is this?", "fish.jpg", "fish"),
                                            example(9, "Something else entirely", "check/baboon.jpg", "monkey"),
                                            example(2, "Which logo?", "linux.jpg", "tux"),
                                            example(3, "And this?", "windows.jpg", "logo")}),
                                     "v2");
  const DiffReport r = diff_of(f, v1, v2);
  const FileDiff& t = file(r, "train.jsonl");
  REQUIRE(kinds(t) == std::vector<std::string>{"added", "modified"});
  CHECK(t.rows[0].new_line == 2);
  CHECK(t.rows[1].old_line == 2);
  CHECK(t.rows[1].new_line == 3);
  REQUIRE(t.rows[1].changes.size() == 1);
  CHECK(spans(t.rows[1].changes[0]) == "[-logo-]{+tux+}");
}
