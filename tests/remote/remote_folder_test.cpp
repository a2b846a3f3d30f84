// Remotes in a folder: push, clone, fetch, pull, two pushers, a killed push,
// damaged objects, partial clones. The same scenarios run against a real S3
// store in remote_s3_test.cpp.
#include <set>

#include "remote/transfer.hpp"
#include "scenarios.hpp"

using namespace kura;
using namespace kura::test;

namespace {

struct FolderSite {
  TempDir dir;
  RemoteSite site;
  FolderSite() {
    site.url = (dir / "remote.kura").string();
    RemoteSettings s;
    s.url = site.url;
    site.backend = remote::open_backend(s);
  }
};

// Returns damaged bytes the first time each key is read (a bit flipped on
// the way, or the tail cut off), the stored bytes after that.
class DamagingBackend final : public remote::Backend {
 public:
  DamagingBackend(remote::Backend& inner, bool truncate) : inner_(inner), truncate_(truncate) {}
  const std::string& url() const override { return inner_.url(); }
  unsigned connections() const override { return 1; }
  std::optional<std::string> get(const std::string& key) override {
    auto v = inner_.get(key);
    if (v && !v->empty() && damaged_.insert(key).second) {
      if (truncate_)
        v->resize(v->size() / 2);
      else
        (*v)[v->size() / 3] ^= 0x40;
    }
    return v;
  }
  void put(const std::string& k, std::string_view b, const ObjectId* id) override {
    inner_.put(k, b, id);
  }
  bool exists(const std::string& k) override { return inner_.exists(k); }
  void list(const std::string& p, const std::function<void(const std::string&)>& fn) override {
    inner_.list(p, fn);
  }
  void remove(const std::string& k) override { inner_.remove(k); }
  Versioned get_versioned(const std::string& k) override { return inner_.get_versioned(k); }
  bool put_if(const std::string& k, std::string_view v, const std::string& e) override {
    return inner_.put_if(k, v, e);
  }

 private:
  remote::Backend& inner_;
  bool truncate_;
  std::set<std::string> damaged_;
};

}  // namespace

TEST_CASE("push to a folder remote and clone it back gives the same files", "[remote][folder]") {
  FolderSite s;
  scenario_push_and_clone(s.site);
}

TEST_CASE("a folder remote can be given as a file:// URL", "[remote][folder]") {
  FolderSite s;
  s.site.url = "file://" + s.site.url;
  scenario_push_and_clone(s.site);
}

TEST_CASE("a second push after changing three files sends three objects", "[remote][folder]") {
  FolderSite s;
  scenario_second_push_sends_only_changes(s.site);
}

TEST_CASE("the second of two pushers is told to pull first and then pull and push work",
          "[remote][folder]") {
  FolderSite s;
  scenario_two_pushers(s.site);
}

TEST_CASE("a push killed with SIGKILL resumes without sending again what arrived",
          "[remote][folder]") {
  FolderSite s;
  scenario_killed_push_resumes(s.site, 600);
}

TEST_CASE("a pull killed with SIGKILL resumes without fetching again what arrived",
          "[remote][folder]") {
  FolderSite s;
  scenario_killed_pull_resumes(s.site, 1200);
}

TEST_CASE("an object damaged on the remote is refused by pull and clone", "[remote][folder]") {
  FolderSite s;
  scenario_flipped_byte_refused(s.site);
}

TEST_CASE("a depth-1 clone holds one commit's objects and fetches others when read",
          "[remote][folder]") {
  FolderSite s;
  scenario_depth1_clone_fetches_on_demand(s.site);
}

TEST_CASE("objects damaged or truncated on the way are fetched again and stored intact",
          "[remote][folder]") {
  FolderSite s;
  PushedRepo p(s.site);
  for (bool truncate : {false, true}) {
    RepoFixture dest;
    DamagingBackend damaging(*s.site.backend, truncate);
    TransferReport r;
    remote::fetch_objects(*dest.repo, damaging, {p.v2.id}, 0, {}, r);
    REQUIRE(r.objects_received == p.src.object_count());
    REQUIRE(r.git_objects_received == 8);
    REQUIRE(r.objects_refetched ==
            r.objects_received + 1);  // every object and the pack arrived damaged once
    dest.repo->set_ref("refs/heads/main", p.v2.id, "test");
    REQUIRE(dest.repo->fsck().ok());
    REQUIRE(dest.show("HEAD~1", "a.jpg") == data_file("fish.jpg"));
  }
}

TEST_CASE("fetch brings new branches and tags, and tags are pushed by name", "[remote][folder]") {
  FolderSite s;
  PushedRepo p(s.site);
  p.src.repo->create_tag("v1", p.v1.id, "first version");
  p.src.repo->create_branch("experiment", p.v1.id, false);
  push(*p.src.repo, "origin", "v1", {});
  push(*p.src.repo, "origin", "experiment", {});
  TempDir d;
  clone(s.site.url, d / "copy", {});
  auto copy = Repo::open(d / "copy");
  auto refs = copy->refs();
  REQUIRE(refs.at("refs/remotes/origin/experiment") == p.v1.id);
  REQUIRE(copy->resolve("v1").id == p.v1.id);
  REQUIRE(copy->tags().at(0).message == "first version");
  // A tag does not move.
  p.src.repo->delete_tag("v1");
  p.src.repo->create_tag("v1", p.v2.id, "");
  try {
    push(*p.src.repo, "origin", "v1", {});
    FAIL("a moved tag was pushed");
  } catch (const Error& e) {
    REQUIRE(e.code() == ErrorCode::kConflict);
  }
  // A branch deleted on the remote loses its tracking ref on fetch.
  s.site.backend->remove("refs/heads/experiment");
  TransferReport f = fetch(*copy, "origin", {});
  REQUIRE_FALSE(copy->refs().count("refs/remotes/origin/experiment"));
  REQUIRE(f.objects_received == 0);
}

TEST_CASE("pull stops at a media file changed on both sides, names it, and abort undoes the pull's merge", "[remote][folder]") {
  FolderSite s;
  PushedRepo p(s.site);
  TempDir d;
  clone(s.site.url, d / "copy", {});
  auto copy = Repo::open(d / "copy");
  write_file(d / "copy/a.jpg", data_file("linux.jpg"));
  copy->add({(d / "copy").string()});
  CommitOptions o;
  o.verify = false;
  o.message = "ours";
  const CommitInfo ours = copy->commit(o);
  p.src.write("a.jpg", data_file("fish.jpg") + "theirs");
  p.src.add_all();
  p.src.commit("theirs");
  push(*p.src.repo, "origin", "", {});
  PullResult r = pull(*copy, "origin", "", {});
  REQUIRE(r.merge.stopped);
  REQUIRE(r.merge.conflicts.size() == 1);
  REQUIRE(r.merge.conflicts[0].path == "a.jpg");
  REQUIRE(copy->merge_state()->theirs_name == "origin/main");
  REQUIRE(copy->resolve("HEAD").id == ours.id);
  REQUIRE(read_file(d / "copy/a.jpg") == data_file("linux.jpg"));  // ours stays in place
  copy->abort_merge();
  REQUIRE_FALSE(copy->merge_state());
  REQUIRE(copy->status().clean());
}

TEST_CASE("kura remote add and -v and remove through the command line", "[remote][folder][cli]") {
  TempDir d;
  REQUIRE(run_kura(d.path(), {"init"}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"remote", "add", "origin", "../shared.kura"}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"remote", "add", "s3", "s3://datasets/team/set", "--endpoint",
                              "http://127.0.0.1:1"})
              .exit_code == 0);
  RunResult dup = run_kura(d.path(), {"remote", "add", "origin", "/elsewhere"});
  REQUIRE(dup.exit_code == 2);
  REQUIRE_THAT(dup.err, Catch::Contains("already exists"));
  RunResult bad = run_kura(d.path(), {"remote", "add", "web", "https://example.com/x"});
  REQUIRE(bad.exit_code == 2);
  RunResult v = run_kura(d.path(), {"remote", "-v"});
  REQUIRE(v.exit_code == 0);
  REQUIRE_THAT(v.out,
               Catch::Contains("origin\t" + (d.path().parent_path() / "shared.kura").string()));
  REQUIRE_THAT(v.out, Catch::Contains("s3\ts3://datasets/team/set (endpoint http://127.0.0.1:1)"));
  REQUIRE(run_kura(d.path(), {"remote", "remove", "s3"}).exit_code == 0);
  RunResult j = run_kura(d.path(), {"remote", "--json"});
  auto list = nlohmann::json::parse(j.out);
  REQUIRE(list.size() == 1);
  REQUIRE(list[0]["name"] == "origin");
  RunResult none = run_kura(d.path(), {"push", "nowhere"});
  REQUIRE(none.exit_code == 2);
  REQUIRE_THAT(none.err, Catch::Contains("no remote named 'nowhere'"));
}

TEST_CASE("kura clone --depth 1 then show and checkout fetch older files from the remote",
          "[remote][folder][cli]") {
  FolderSite s;
  PushedRepo p(s.site);
  TempDir d;
  RunResult c = run_kura(d.path(), {"clone", s.site.url, "part", "--depth", "1", "--json"});
  REQUIRE(c.exit_code == 0);
  REQUIRE(nlohmann::json::parse(c.out)["objects_received"].get<size_t>() ==
          p.src.object_count() - 1);
  // log needs no object: every commit came with the clone.
  RunResult log = run_kura(d / "part", {"log", "--json"});
  REQUIRE(nlohmann::json::parse(log.out).size() == 2);
  // fsck counts what is not here yet without calling it a problem.
  RunResult before = run_kura(d / "part", {"fsck", "--json"});
  REQUIRE(before.exit_code == 0);
  auto bj = nlohmann::json::parse(before.out);
  REQUIRE(bj["ok"] == true);
  REQUIRE(bj["promisor"] == "origin");
  REQUIRE(bj["not_fetched"] == 1);
  REQUIRE(bj["problems"].empty());
  RunResult before_text = run_kura(d / "part", {"fsck"});
  REQUIRE_THAT(before_text.out, Catch::Contains("1 object of other commits is not fetched yet"));
  // show (read-only) fetches the file's bytes on demand.
  RunResult show = run_kura(d / "part", {"show", "HEAD~1:a.jpg"});
  REQUIRE(show.exit_code == 0);
  REQUIRE(show.out == data_file("fish.jpg"));
  // checkout fetches and stores it: the clone is then complete.
  REQUIRE(run_kura(d / "part", {"checkout", "HEAD~1"}).exit_code == 0);
  REQUIRE(read_file(d / "part/a.jpg") == data_file("fish.jpg"));
  RunResult after = run_kura(d / "part", {"fsck", "--json"});
  REQUIRE(after.exit_code == 0);
  REQUIRE(nlohmann::json::parse(after.out)["not_fetched"] == 0);
}

namespace {

// The pushed data has one example in train.jsonl: this policy allows it, so
// that only what a test adds can fail the checks.
const std::string kMergePolicy = R"({"min_examples": 1, "detect_faces": false})";

// A clone of a pushed repository with a checked commit of its own, so that
// pulling anything new from the remote makes a merge commit.
struct DivergedCopy {
  FolderSite s;
  PushedRepo p{s.site};
  TempDir d;
  std::unique_ptr<Repo> copy;
  CommitInfo ours;
  DivergedCopy() {
    clone(s.site.url, d / "copy", {});
    copy = Repo::open(d / "copy");
    write_file(d / "copy/.kura/checks.json", kMergePolicy);
    write_file(d / "copy/ours.jpg", data_file("linux.jpg"));
    copy->add({(d / "copy").string()});
    CommitOptions o;
    o.message = "ours";
    ours = copy->commit(o);  // checked: no error
  }
};

}  // namespace

TEST_CASE("pull checks the files of a merge commit and stops on an error unless told not to",
          "[remote][folder]") {
  DivergedCopy m;
  auto& [s, p, d, copy, ours] = m;
  // The other side committed a CMYK JPEG without the checks and pushed it.
  p.src.write("cmyk.jpg", read_file(data_path("") / "../check/data/cmyk.jpg"));
  p.src.add_all();
  p.src.commit("theirs");
  push(*p.src.repo, "origin", "", {});

  CheckReport failed;
  TransferOptions t;
  t.check_report = &failed;
  try {
    pull(*copy, "origin", "", t);
    FAIL("a merge with a check error went through");
  } catch (const Error& e) {
    REQUIRE(e.code() == ErrorCode::kCheckFailed);
    REQUIRE_THAT(e.what(), Catch::Contains("nothing was changed here"));
  }
  REQUIRE(failed.summary.errors >= 1);
  bool named = false;
  for (const auto& f : failed.findings) named |= f.rule == "image.bad_color_mode" && f.path == "cmyk.jpg";
  REQUIRE(named);
  REQUIRE(copy->resolve("HEAD").id == ours.id);
  REQUIRE_FALSE(fs::exists(d / "copy/cmyk.jpg"));

  // --no-verify merges; a merge with clean data carries its report.
  t.verify = false;
  PullResult merged = pull(*copy, "origin", "", t);
  REQUIRE_FALSE(merged.merge.fast_forward);
  REQUIRE_FALSE(merged.merge.checked);
  REQUIRE_FALSE(copy->commit_report("HEAD"));
  REQUIRE(fs::exists(d / "copy/cmyk.jpg"));

  // Through the command line: the report is printed and the exit status is 1.
  TempDir e;
  clone(s.site.url, e / "other", {});
  auto other = Repo::open(e / "other");
  write_file(e / "other/.kura/checks.json", kMergePolicy);
  write_file(e / "other/mine.png", data_file("pic1.png"));
  other->add({(e / "other").string()});
  CommitOptions o;
  o.message = "mine";
  o.verify = false;  // the clone already holds the CMYK file
  other->commit(o);
  p.src.write("more.jpg", data_file("windows.jpg"));
  p.src.add_all();
  p.src.commit("more");
  push(*p.src.repo, "origin", "", {});
  other.reset();  // releases the repository lock for the kura process
  RunResult stopped = run_kura(e / "other", {"pull", "--json"});
  REQUIRE(stopped.exit_code == 1);
  auto sj = nlohmann::json::parse(stopped.out);
  REQUIRE(sj["merged"] == false);
  REQUIRE(sj["checks"]["summary"]["errors"].get<int>() >= 1);
  RunResult text = run_kura(e / "other", {"pull"});
  REQUIRE(text.exit_code == 1);
  REQUIRE_THAT(text.err, Catch::Contains("image.bad_color_mode"));
  REQUIRE_THAT(text.err, Catch::Contains("--no-verify"));
  REQUIRE(run_kura(e / "other", {"pull", "--no-verify"}).exit_code == 0);
  REQUIRE(fs::exists(e / "other/cmyk.jpg"));
}

TEST_CASE("a merge commit of clean data stores its check report", "[remote][folder]") {
  DivergedCopy m;
  auto& [s, p, d, copy, ours] = m;
  p.src.write("theirs.png", data_file("pic1.png"));
  p.src.add_all();
  p.src.commit("theirs");
  push(*p.src.repo, "origin", "", {});
  PullResult merged = pull(*copy, "origin", "", {});
  REQUIRE_FALSE(merged.merge.fast_forward);
  REQUIRE(merged.merge.checked);
  REQUIRE(merged.merge.report.ok());
  auto stored = copy->commit_report("HEAD");
  REQUIRE(stored);
  REQUIRE(stored->summary.files == merged.merge.report.summary.files);
  REQUIRE(copy->fsck().ok());
}
