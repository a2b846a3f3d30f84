// Fault injection (src/util/fault.hpp): every write, fsync and rename of an
// operation, in the store (RocksDB through the wrapped file system), in the
// working folder and of the refs, is made to fail in turn; after each, the
// repository is reopened (which finishes an interrupted operation) and must
// be exactly as it was before the operation or exactly as after it.
#include <catch2/catch.hpp>

#include <functional>

#include "fixture.hpp"
#include "kura/error.hpp"
#include "kura/remote.hpp"
#include "util/fault.hpp"

using namespace kura;
using namespace kura::test;

namespace {

// What a user can see of a repository: HEAD, the history's length, the
// index and the working folder's bytes, and status.
struct State {
  std::string head_ref, head_tree;
  size_t commits = 0, objects = 0;
  std::map<std::string, std::string> index, files;
  size_t staged = 0, unstaged = 0, untracked = 0;
  bool operator==(const State& o) const {
    return head_ref == o.head_ref && head_tree == o.head_tree && commits == o.commits && objects == o.objects && index == o.index &&
           files == o.files && staged == o.staged && unstaged == o.unstaged && untracked == o.untracked;
  }
};

std::ostream& operator<<(std::ostream& os, const State& s) {
  os << "HEAD " << s.head_ref << " tree " << s.head_tree << ", " << s.commits << " commits, " << s.objects << " objects, " << s.index.size()
     << " indexed, " << s.files.size() << " files, status " << s.staged << "/" << s.unstaged << "/" << s.untracked;
  return os;
}

State state_of(RepoFixture& f) {
  State s;
  Repo& repo = *f.repo;
  s.head_ref = repo.head_ref();
  if (s.head_ref.empty()) s.head_ref = "detached";
  const auto log = repo.log("HEAD", 0);
  s.commits = log.size();
  s.objects = f.object_count();
  if (!log.empty()) s.head_tree = log[0].tree;
  for (const auto& e : repo.ls_files("")) s.index[e.path] = e.pointer.file_sha.hex();
  for (auto it = fs::recursive_directory_iterator(f.dir.path()); it != fs::recursive_directory_iterator(); ++it) {
    if (it->path().filename() == ".kura") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file())
      s.files[it->path().lexically_relative(f.dir.path()).string()] = sha256_hex(read_file(it->path()));
  }
  const StatusReport st = repo.status();
  s.staged = st.staged.size();
  s.unstaged = st.unstaged.size();
  s.untracked = st.untracked.size();
  return s;
}

struct Scenario {
  std::function<void(RepoFixture&)> setup;
  std::function<void(RepoFixture&)> operation;
  // pull is a fetch, then a merge: a fetch that finished leaves its objects
  // (unreferenced until the merge; gc's to remove) when the merge fails.
  bool fetched_objects_may_stay = false;
};

// Runs `sc` once cleanly (counting its file operations and taking the
// state after), then once per operation of each kind with that one failing.
// The scenario's starting point, built once and copied for every trial.
void start_from(RepoFixture& f, const fs::path& prepared) {
  f.close();
  fs::remove_all(f.dir.path() / ".kura");
  fs::copy(prepared, f.dir.path(), fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  f.reopen();
}

void fail_every_step(const Scenario& sc) {
  fault::install();
  State before, after;
  uint64_t steps[3];
  TempDir prepared;
  {
    RepoFixture f;
    sc.setup(f);
    f.close();
    fs::copy(f.dir.path(), prepared.path(), fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  }
  {
    RepoFixture f;
    start_from(f, prepared.path());
    before = state_of(f);
    fault::reset_counts();
    sc.operation(f);
    for (int k = 0; k < 3; ++k) steps[k] = fault::count(static_cast<fault::Op>(k));
    after = state_of(f);
  }
  REQUIRE_FALSE(before == after);
  const char* names[] = {"write", "fsync", "rename"};
  size_t failed = 0;
  for (int k = 0; k < 3; ++k) {
    for (uint64_t n = 1; n <= steps[k]; ++n) {
      INFO("failing " << names[k] << " number " << n << " of " << steps[k]);
      RepoFixture f;
      start_from(f, prepared.path());
      fault::arm(static_cast<fault::Op>(k), n);
      bool threw = false;
      try {
        sc.operation(f);
      } catch (const Error& e) {
        threw = true;
        INFO("the failure: " << e.what());
        REQUIRE(std::string(e.what()).size() > 10);
      }
      const bool fired = fault::fired();
      fault::disarm();
      if (fired) ++failed;
      if (fired && !threw) {
        // A fault in a background thread of RocksDB (a flush) that the
        // operation itself did not need to see: the next open must cope.
      }
      std::vector<std::string> notices;
      f.repo.reset();
      OpenOptions options;
      options.notice = [&](const std::string& m) { notices.push_back(m); };
      f.repo = Repo::open(f.dir.path(), options);
      State now = state_of(f);
      INFO("before: " << before << "\nafter:  " << after << "\nnow:    " << now);
      if (sc.fetched_objects_may_stay && now.objects > before.objects && now.objects <= after.objects &&
          now.head_tree == before.head_tree)
        now.objects = before.objects;
      REQUIRE((now == before || now == after));
      REQUIRE(f.repo->fsck().problems.empty());
      REQUIRE(count_temporaries(f.dir.path()) == 0);
      if (now == before && !threw) FAIL("the operation reported success but did nothing");
    }
  }
  // The long form's report (bench/kill.sh reads this line).
  std::printf("fault-trials: %zu failed steps (of %llu writes, %llu fsyncs, %llu renames), each left it before or after\n",
              failed, static_cast<unsigned long long>(steps[0]), static_cast<unsigned long long>(steps[1]),
              static_cast<unsigned long long>(steps[2]));
  REQUIRE(failed >= 5);  // the faults really hit the operation
}

void three_commits(RepoFixture& f) {
  f.write("images/fish.jpg", data_file("fish.jpg"));
  f.write("train.jsonl", vision_example(data_file("fish.jpg"), "fish") + "\n");
  f.add_all();
  f.commit("v1");
  f.repo->create_branch("b1", "HEAD", false);
  f.write("images/logo.jpg", data_file("linux.jpg"));
  f.write("images/blox.webp", data_file("blox.webp"));
  f.write("train.jsonl", vision_example(data_file("linux.jpg"), "logo") + "\n");
  f.add_all();
  f.commit("v2");
}

}  // namespace

TEST_CASE("a failed write at any step of switch leaves the old branch or the new one, never a mix", "[repo][fault]") {
  fail_every_step({three_commits, [](RepoFixture& f) { f.repo->switch_branch("b1", false, false); }});
}

TEST_CASE("a failed write at any step of checkout leaves HEAD, index and files in agreement", "[repo][fault]") {
  fail_every_step({three_commits, [](RepoFixture& f) { f.repo->checkout("HEAD~1", {}); }});
}

TEST_CASE("a failed write at any step of commit leaves the commit made or not made", "[repo][fault]") {
  fail_every_step({[](RepoFixture& f) {
                     three_commits(f);
                     f.write("images/pic.png", data_file("pic1.png"));
                     f.add_all();
                   },
                   [](RepoFixture& f) { f.commit("v3"); }});
}

TEST_CASE("a failed write at any step of gc loses nothing reachable", "[repo][fault]") {
  fail_every_step({[](RepoFixture& f) {
                     three_commits(f);
                     f.repo->switch_branch("b1", false, false);
                     f.write("images/pic.png", data_file("pic1.png"));
                     f.add_all();
                     f.commit("doomed");
                     f.repo->switch_branch("main", false, false);
                     f.repo->delete_branch("b1");
                   },
                   [](RepoFixture& f) {
                     GcOptions o;
                     o.keep_recent = std::chrono::seconds(-10);
                     f.repo->gc(o);
                   }});
}

TEST_CASE("a failed write at any step of a merge leaves the branch before or after it", "[repo][fault]") {
  fail_every_step({[](RepoFixture& f) {
                     three_commits(f);
                     f.repo->switch_branch("b1", false, false);
                     f.write("other/pic.png", data_file("pic1.png"));
                     f.add_all();
                     f.commit("side");
                     f.repo->switch_branch("main", false, false);
                   },
                   [](RepoFixture& f) {
                     MergeOptions o;
                     o.verify = false;
                     f.repo->merge("b1", "merge b1", o);
                   }});
}

TEST_CASE("a failed write at any step of reset --hard leaves the branch and its files at one commit or the other", "[repo][fault]") {
  fail_every_step({[](RepoFixture& f) {
                     three_commits(f);
                     f.write("images/new.png", data_file("pic1.png"));  // staged as new: reset --hard removes it
                     f.add_all();
                   },
                   [](RepoFixture& f) { f.repo->reset("HEAD~1", ResetMode::kHard); }});
}

TEST_CASE("a failed write at any step of reset --mixed leaves the branch and the index at one commit or the other", "[repo][fault]") {
  fail_every_step({three_commits, [](RepoFixture& f) { f.repo->reset("HEAD~1", ResetMode::kMixed); }});
}

TEST_CASE("a failed write at any step of restore leaves every path as it was or restored", "[repo][fault]") {
  fail_every_step({[](RepoFixture& f) {
                     three_commits(f);
                     f.close();
                     fs::remove_all(f.dir.path() / "images");
                     write_file(f.dir.path() / "train.jsonl", "{\"edited\": true}\n");
                     f.reopen();
                   },
                   [](RepoFixture& f) { f.repo->restore({(f.dir.path() / "images").string(), (f.dir.path() / "train.jsonl").string()}, {}); }});
}

TEST_CASE("a failed write at any step of pull leaves the branch before or after it", "[repo][fault][remote]") {
  TempDir remote;
  fail_every_step({[&](RepoFixture& f) {
                     three_commits(f);
                     add_remote(*f.repo, "origin", (remote / "r.kura").string());
                     push(*f.repo, "origin", "main", {});
                     f.write("images/pic.png", data_file("pic1.png"));
                     f.add_all();
                     f.commit("v3");
                     push(*f.repo, "origin", "main", {});
                     // Back to v2 with v3 known only to the remote: pull must fetch it.
                     f.repo->reset("HEAD~1", ResetMode::kHard);
                     f.repo->delete_ref("refs/remotes/origin/main");
                     GcOptions o;
                     o.keep_recent = std::chrono::seconds(-10);
                     f.repo->gc(o);
                   },
                   [](RepoFixture& f) { pull(*f.repo, "origin", "main", {}); },
                   true});
}
