// kill -9 at random instants of switch, checkout, commit, gc, push, merge,
// reset --hard and restore: the next command finishes or reports what was
// interrupted, and then fsck is clean, status tells the truth (HEAD, index
// and working folder agree), no temporary is left, and every commit checks
// out byte for byte.
//
// KURA_KILL_TRIALS sets the kills per operation (default 12, the short form
// that .ci/run runs); bench/kill.sh runs the long form and prints the counts.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "support.hpp"

using namespace kura::test;
using nlohmann::json;

namespace {

int trials() {
  const char* v = std::getenv("KURA_KILL_TRIALS");
  return v ? std::max(1, std::atoi(v)) : 12;
}

struct Trial {
  int killed = 0, finished = 0, recovered = 0;
  ~Trial() {
    // The long form's report (bench/kill.sh reads these lines).
    std::printf("kill-trials: %d killed mid-way, %d finished before the kill, %d repaired by the next command\n",
                killed, finished, recovered);
  }
};

// Starts `args`, kills it after a random share of `typical` (up to 1.2x, so
// some runs finish), and says whether the kill came first.
bool kill_during(const fs::path& cwd, const std::vector<std::string>& args, std::chrono::microseconds typical,
                 std::mt19937& rng) {
  const int pid = spawn_kura(cwd, args);
  std::this_thread::sleep_for(std::chrono::microseconds(rng() % (typical.count() * 12 / 10 + 1)));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status);
}

std::chrono::microseconds time_of(const fs::path& cwd, const std::vector<std::string>& args) {
  const auto start = std::chrono::steady_clock::now();
  auto r = run_kura(cwd, args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
}

// The first command after a kill (it repairs) and the checks every trial makes.
json settle(const TempDir& d, Trial& t) {
  auto first = run_kura(d.path(), {"status", "--json"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  if (first.err.find("kura: ") != std::string::npos) ++t.recovered;
  REQUIRE(count_temporaries(d.path()) == 0);
  auto fsck = run_kura(d.path(), {"fsck"});
  INFO(fsck.out << fsck.err);
  REQUIRE(fsck.exit_code == 0);
  return json::parse(first.out);
}

// The working folder's files and their SHA-256, from disk.
std::map<std::string, std::string> files_on_disk(const TempDir& d) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(d.path()); it != fs::recursive_directory_iterator(); ++it) {
    if (it->path().filename() == ".kura") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file())
      out[it->path().lexically_relative(d.path()).string()] = sha256_hex(read_file(it->path()));
  }
  return out;
}

std::map<std::string, std::string> files_of(const TempDir& d, const std::string& rev) {
  std::map<std::string, std::string> out;
  auto r = run_kura(d.path(), {"ls-files", rev, "--json"});
  REQUIRE(r.exit_code == 0);
  for (const auto& f : json::parse(r.out)) out[f["path"]] = f["sha256"];
  return out;
}

std::string random_bytes(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// main and b1, 120 files apart, so that a switch takes long enough to be hit.
void two_branches(const TempDir& d, std::mt19937& rng) {
  REQUIRE(run_kura(d.path(), {"init"}).exit_code == 0);
  write_file(d / ".kura/checks.json", R"({"profile": "generic"})");
  for (int i = 0; i < 60; ++i) write_file(d / ("a/" + std::to_string(i) + ".bin"), random_bytes(rng, 30000));
  REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"commit", "-m", "base"}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"switch", "-c", "b1"}).exit_code == 0);
  for (int i = 0; i < 60; ++i) write_file(d / ("b/" + std::to_string(i) + ".bin"), random_bytes(rng, 30000));
  for (int i = 0; i < 30; ++i) write_file(d / ("a/" + std::to_string(i) + ".bin"), random_bytes(rng, 30000));
  // A name of 255 bytes: checkout's temporaries must not make it too long.
  write_file(d / ("b/" + std::string(251, 'n') + ".bin"), random_bytes(rng, 100));
  REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"commit", "-m", "b1 work"}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"switch", "main"}).exit_code == 0);
}

// After the kill and the repair: on `branch_a` with its files, or on `branch_b` with its files.
void require_one_of(const TempDir& d, const json& status, const std::string& a, const std::string& b,
                    const std::map<std::string, std::string>& files_a,
                    const std::map<std::string, std::string>& files_b) {
  INFO(status.dump());
  REQUIRE(status["staged"].empty());
  REQUIRE(status["unstaged"].empty());
  REQUIRE(status["untracked"].empty());
  const std::string on = status["branch"].is_string() ? status["branch"].get<std::string>() : std::string("detached");
  REQUIRE((on == a || on == b));
  REQUIRE(files_on_disk(d) == (on == a ? files_a : files_b));
}

}  // namespace

TEST_CASE("cli: kill -9 during switch leaves one branch checked out, never the other's files under it", "[cli][crash]") {
  TempDir d;
  std::mt19937 rng(7);
  two_branches(d, rng);
  const auto main_files = files_of(d, "main"), b1_files = files_of(d, "b1");
  const auto typical = time_of(d.path(), {"switch", "b1"});
  REQUIRE(run_kura(d.path(), {"switch", "main"}).exit_code == 0);
  Trial t;
  std::string on = "main";
  for (int i = 0; i < trials(); ++i) {
    INFO("trial " << i);
    const std::string to = on == "main" ? "b1" : "main";
    if (kill_during(d.path(), {"switch", to}, typical, rng)) ++t.killed;
    else ++t.finished;
    const json status = settle(d, t);
    require_one_of(d, status, "main", "b1", main_files, b1_files);
    on = status["branch"];
    // A commit now holds exactly the branch's own files: nothing of the other.
    if (i % 4 == 0) {
      auto c = run_kura(d.path(), {"commit", "-m", "nothing"});
      REQUIRE(c.exit_code == 1);
    }
  }
  REQUIRE(t.killed > 0);
}

TEST_CASE("cli: kill -9 during checkout of an old commit leaves HEAD, index and files in agreement", "[cli][crash]") {
  TempDir d;
  std::mt19937 rng(11);
  two_branches(d, rng);
  REQUIRE(run_kura(d.path(), {"switch", "b1"}).exit_code == 0);
  const std::string base = json::parse(run_kura(d.path(), {"log", "--json"}).out)[1]["id"];
  const auto b1_files = files_of(d, "b1"), base_files = files_of(d, base);
  const auto typical = time_of(d.path(), {"checkout", base});
  REQUIRE(run_kura(d.path(), {"switch", "b1"}).exit_code == 0);
  Trial t;
  for (int i = 0; i < trials(); ++i) {
    INFO("trial " << i);
    auto st = json::parse(run_kura(d.path(), {"status", "--json"}).out);
    const bool detached = !st["branch"].is_string();
    if (kill_during(d.path(), detached ? std::vector<std::string>{"switch", "b1"} : std::vector<std::string>{"checkout", base},
                    typical, rng))
      ++t.killed;
    else
      ++t.finished;
    require_one_of(d, settle(d, t), "b1", "detached", b1_files, base_files);
  }
  REQUIRE(t.killed > 0);
}

TEST_CASE("cli: kill -9 during commit, then the next commit holds exactly what was staged", "[cli][crash]") {
  TempDir d;
  std::mt19937 rng(13);
  two_branches(d, rng);
  const auto typical = time_of(d.path(), {"commit", "--allow-empty", "-m", "timing"});
  Trial t;
  for (int i = 0; i < trials(); ++i) {
    INFO("trial " << i);
    for (int k = 0; k < 3; ++k)
      write_file(d / ("a/" + std::to_string(rng() % 70) + ".bin"), random_bytes(rng, 1000 + rng() % 50000));
    REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
    const auto staged = files_on_disk(d);
    const std::string before = json::parse(run_kura(d.path(), {"log", "--json", "-n", "1"}).out)[0]["id"];
    const std::string message = "round " + std::to_string(i);
    if (kill_during(d.path(), {"commit", "-m", message}, typical, rng)) ++t.killed;
    else ++t.finished;
    const json status = settle(d, t);
    const json head = json::parse(run_kura(d.path(), {"log", "--json", "-n", "1"}).out)[0];
    if (head["id"] == before) {
      REQUIRE_FALSE(status["staged"].empty());  // still staged, as the user left it
      REQUIRE(run_kura(d.path(), {"commit", "-m", message}).exit_code == 0);
    } else {
      REQUIRE(head["message"] == message + "\n");
      REQUIRE(head["parents"][0] == before);
      REQUIRE(status["staged"].empty());
    }
    REQUIRE(files_of(d, "HEAD") == staged);
  }
  REQUIRE(t.killed > 0);
}

TEST_CASE("cli: kill -9 during gc loses nothing that a commit uses", "[cli][crash]") {
  TempDir d;
  std::mt19937 rng(17);
  two_branches(d, rng);
  const auto main_files = files_of(d, "main"), b1_files = files_of(d, "b1");
  // Garbage for gc: a branch's commit, dropped. Images (blob files) and a
  // table of 3000 rows (3000 small objects in the SST files), so that gc's
  // erasing, not only its start, takes a while.
  auto make_garbage = [&](int round) {
    REQUIRE(run_kura(d.path(), {"switch", "-c", "tmp"}).exit_code == 0);
    for (int k = 0; k < 20; ++k) write_file(d / ("g/" + std::to_string(k) + ".bin"), random_bytes(rng, 40000));
    std::string rows;
    for (int r = 0; r < 3000; ++r)
      rows += R"({"round":)" + std::to_string(round) + R"(,"row":)" + std::to_string(r) + R"(,"text":")" +
              std::to_string(rng()) + "\"}\n";
    write_file(d / "g/rows.jsonl", rows);
    REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
    REQUIRE(run_kura(d.path(), {"commit", "-m", "garbage"}).exit_code == 0);
    REQUIRE(run_kura(d.path(), {"switch", "main"}).exit_code == 0);
    REQUIRE(run_kura(d.path(), {"branch", "-d", "tmp"}).exit_code == 0);
  };
  // The kill lands at a random share of one measured gc (it used to wait up
  // to 480 ms for a gc of some 50 ms, so most runs finished first).
  make_garbage(-1);
  const auto typical = time_of(d.path(), {"gc", "--prune", "now"});
  Trial t;
  for (int i = 0; i < trials(); ++i) {
    INFO("trial " << i);
    make_garbage(i);
    if (kill_during(d.path(), {"gc", "--prune", "now"}, typical, rng)) ++t.killed;
    else ++t.finished;
    // settle() ran fsck: every object of every commit re-hashed and present.
    require_one_of(d, settle(d, t), "main", "main", main_files, main_files);
    REQUIRE(files_of(d, "b1") == b1_files);
  }
  // And every file of every commit reads back byte for byte (show verifies the SHA-256).
  for (const auto& rev : {"main", "b1"})
    for (const auto& [path, sha] : files_of(d, rev))
      REQUIRE(sha256_hex(run_kura(d.path(), {"show", std::string(rev) + ":" + path}).out) == sha);
  REQUIRE(t.killed > 0);
}

TEST_CASE("cli: kill -9 during push to a folder remote, then push again gives a remote that clones byte for byte", "[cli][crash][remote]") {
  TempDir d, remotes;
  std::mt19937 rng(19);
  two_branches(d, rng);
  Trial t;
  for (int i = 0; i < trials(); ++i) {
    INFO("trial " << i);
    const fs::path remote = remotes / ("r" + std::to_string(i) + ".kura");
    const std::string name = "r" + std::to_string(i);
    REQUIRE(run_kura(d.path(), {"remote", "add", name, remote.string()}).exit_code == 0);
    if (kill_during(d.path(), {"push", name, "b1"}, std::chrono::milliseconds(300), rng)) ++t.killed;
    else ++t.finished;
    settle(d, t);
    auto again = run_kura(d.path(), {"push", name, "b1"});
    INFO(again.out << again.err);
    REQUIRE(again.exit_code == 0);
    const fs::path copy = remotes / ("c" + std::to_string(i));
    auto clone = run_kura(remotes.path(), {"clone", "--branch", "b1", remote.string(), copy.string()});
    INFO(clone.err);
    REQUIRE(clone.exit_code == 0);
    REQUIRE(run_kura(copy, {"fsck"}).exit_code == 0);
    std::map<std::string, std::string> cloned;
    for (auto it = fs::recursive_directory_iterator(copy); it != fs::recursive_directory_iterator(); ++it) {
      if (it->path().filename() == ".kura") {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) cloned[it->path().lexically_relative(copy).string()] = sha256_hex(read_file(it->path()));
    }
    REQUIRE(cloned == files_of(d, "b1"));
  }
  REQUIRE(t.killed > 0);
}

// main and b1 fork from a 2,000-row table; b1 adds 60 files and sets rows 3
// and 700, main sets row 3: the same row 3 conflicts, different ones merge.
void merge_fork(const TempDir& d, std::mt19937& rng, const std::string& theirs_3, const std::string& theirs_700,
                const std::string& ours_3) {
  REQUIRE(run_kura(d.path(), {"init"}).exit_code == 0);
  write_file(d / ".kura/checks.json", R"({"profile": "generic"})");
  auto table = [](const std::string& label_3, const std::string& label_700) {
    std::string out;
    for (int i = 0; i < 2000; ++i)
      out += R"({"id":)" + std::to_string(i) + R"(,"label":")" +
             (i == 3 ? label_3 : i == 700 ? label_700 : "row " + std::to_string(i)) + "\"}\n";
    return out;
  };
  write_file(d / "train.jsonl", table("row 3", "row 700"));
  REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"commit", "-m", "base"}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"switch", "-c", "b1"}).exit_code == 0);
  for (int i = 0; i < 60; ++i) write_file(d / ("b/" + std::to_string(i) + ".bin"), random_bytes(rng, 30000));
  write_file(d / "train.jsonl", table(theirs_3, theirs_700));
  let_clock_tick();
  REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"commit", "-m", "b1 work"}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"switch", "main"}).exit_code == 0);
  write_file(d / "train.jsonl", table(ours_3, "row 700"));
  let_clock_tick();
  REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"commit", "-m", "main work"}).exit_code == 0);
}

TEST_CASE("cli: kill -9 during a merge that stops at a conflict leaves the repository as before or merging, abort restores", "[cli][crash][merge]") {
  TempDir d;
  std::mt19937 rng(15);
  merge_fork(d, rng, "theirs", "theirs 700", "ours");
  const auto before = files_on_disk(d);
  const std::string head = json::parse(run_kura(d.path(), {"status", "--json"}).out)["head"];

  // One merge run to its end: what "merging" must look like.
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(run_kura(d.path(), {"merge", "b1"}).exit_code == 1);
  const auto typical = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  const auto merging = files_on_disk(d);
  REQUIRE(merging != before);
  REQUIRE(run_kura(d.path(), {"merge", "--abort"}).exit_code == 0);
  REQUIRE(files_on_disk(d) == before);

  Trial t;
  for (int i = 0; i < std::max(trials(), 20); ++i) {
    INFO("trial " << i);
    if (kill_during(d.path(), {"merge", "b1"}, typical, rng)) ++t.killed;
    else ++t.finished;
    const json status = settle(d, t);
    INFO(status.dump());
    REQUIRE(status["head"] == head);
    if (status["merging"] == true) {
      REQUIRE(files_on_disk(d) == merging);
      REQUIRE(status["merge_conflicts"] == json::array({"train.jsonl"}));
      auto abort = run_kura(d.path(), {"merge", "--abort"});
      INFO(abort.err);
      REQUIRE(abort.exit_code == 0);
    }
    REQUIRE(files_on_disk(d) == before);
    const json after = json::parse(run_kura(d.path(), {"status", "--json"}).out);
    REQUIRE(after["clean"] == true);
  }
  REQUIRE(t.killed > 0);
}

TEST_CASE("cli: kill -9 during a clean row-level merge leaves main before the merge or merged with exactly its files", "[cli][crash][merge]") {
  TempDir d;
  std::mt19937 rng(23);
  merge_fork(d, rng, "row 3", "theirs 700", "ours 3");  // rows 3 and 700: a clean merge
  const std::string head = json::parse(run_kura(d.path(), {"status", "--json"}).out)["head"];
  const auto before = files_on_disk(d);
  const auto typical = time_of(d.path(), {"merge", "b1", "-m", "merge b1"});
  const std::string merged = json::parse(run_kura(d.path(), {"status", "--json"}).out)["head"];
  const auto merged_files = files_on_disk(d);
  REQUIRE(merged_files != before);
  REQUIRE(merged_files == files_of(d, merged));
  REQUIRE(run_kura(d.path(), {"reset", "--hard", head}).exit_code == 0);
  REQUIRE(files_on_disk(d) == before);
  Trial t;
  for (int i = 0; i < std::max(trials(), 20); ++i) {
    INFO("trial " << i);
    if (kill_during(d.path(), {"merge", "b1", "-m", "merge b1"}, typical, rng)) ++t.killed;
    else ++t.finished;
    const json status = settle(d, t);
    INFO(status.dump());
    REQUIRE(status["branch"] == "main");
    REQUIRE(status["merging"] == false);
    REQUIRE(status["staged"].empty());
    REQUIRE(status["unstaged"].empty());
    REQUIRE(status["untracked"].empty());
    const std::string now = status["head"];
    if (now == head) {
      REQUIRE(files_on_disk(d) == before);
    } else {
      // Merged: a two-parent commit whose files are on disk. Its id differs
      // from run to run (the commit time), its tree does not.
      const json c = json::parse(run_kura(d.path(), {"log", "--json", "-n", "1"}).out)[0];
      REQUIRE(c["parents"].size() == 2);
      REQUIRE(c["parents"][0] == head);
      REQUIRE(files_on_disk(d) == merged_files);
      REQUIRE(files_of(d, now) == files_of(d, merged));
      REQUIRE(run_kura(d.path(), {"reset", "--hard", head}).exit_code == 0);
    }
  }
  REQUIRE(t.killed > 0);
}

TEST_CASE("cli: kill -9 during merge --abort, then the repository is as before the merge or still merging, never between", "[cli][crash][merge]") {
  TempDir d;
  std::mt19937 rng(29);
  merge_fork(d, rng, "row 3", "theirs 700", "ours 3");  // rows 3 and 700: a clean merge
  const auto before = files_on_disk(d);
  const std::string head = json::parse(run_kura(d.path(), {"status", "--json"}).out)["head"];
  // --no-commit stops the merge with every file of b1 written: --abort has work to do.
  REQUIRE(run_kura(d.path(), {"merge", "b1", "--no-commit"}).exit_code == 0);
  const auto merging = files_on_disk(d);
  REQUIRE(merging != before);
  const auto typical = time_of(d.path(), {"merge", "--abort"});
  REQUIRE(files_on_disk(d) == before);
  Trial t;
  for (int i = 0; i < std::max(trials(), 20); ++i) {
    INFO("trial " << i);
    REQUIRE(run_kura(d.path(), {"merge", "b1", "--no-commit"}).exit_code == 0);
    if (kill_during(d.path(), {"merge", "--abort"}, typical, rng)) ++t.killed;
    else ++t.finished;
    const json status = settle(d, t);
    INFO(status.dump());
    REQUIRE(status["head"] == head);
    if (status["merging"] == true) {
      // Killed before it ended the merge: --abort again finishes it.
      auto again = run_kura(d.path(), {"merge", "--abort"});
      INFO(again.err);
      REQUIRE(again.exit_code == 0);
    }
    REQUIRE(files_on_disk(d) == before);
    const json after = json::parse(run_kura(d.path(), {"status", "--json"}).out);
    REQUIRE(after["clean"] == true);
  }
  REQUIRE(t.killed > 0);
}

TEST_CASE("cli: kill -9 during reset --hard leaves the branch at one commit with exactly its files", "[cli][crash]") {
  TempDir d;
  std::mt19937 rng(17);
  two_branches(d, rng);
  REQUIRE(run_kura(d.path(), {"switch", "b1"}).exit_code == 0);
  const std::string b1 = json::parse(run_kura(d.path(), {"log", "--json"}).out)[0]["id"];
  const std::string base = json::parse(run_kura(d.path(), {"log", "--json"}).out)[1]["id"];
  const auto b1_files = files_of(d, b1), base_files = files_of(d, base);
  const auto typical = time_of(d.path(), {"reset", "--hard", base});
  REQUIRE(run_kura(d.path(), {"reset", "--hard", b1}).exit_code == 0);
  Trial t;
  for (int i = 0; i < trials(); ++i) {
    INFO("trial " << i);
    const std::string at = json::parse(run_kura(d.path(), {"status", "--json"}).out)["head"];
    if (kill_during(d.path(), {"reset", "--hard", at == b1 ? base : b1}, typical, rng)) ++t.killed;
    else ++t.finished;
    const json status = settle(d, t);
    INFO(status.dump());
    REQUIRE(status["branch"] == "b1");
    REQUIRE(status["staged"].empty());
    REQUIRE(status["unstaged"].empty());
    REQUIRE(status["untracked"].empty());
    const std::string now = status["head"];
    REQUIRE((now == b1 || now == base));
    REQUIRE(files_on_disk(d) == (now == b1 ? b1_files : base_files));
  }
  REQUIRE(t.killed > 0);
}

TEST_CASE("cli: kill -9 during restore of a deleted folder, then every file is back or still deleted, never half-written", "[cli][crash]") {
  TempDir d;
  std::mt19937 rng(19);
  two_branches(d, rng);
  const auto head_files = files_of(d, "HEAD");
  fs::remove_all(d / "a");
  const auto typical = time_of(d.path(), {"restore", "a"});
  REQUIRE(files_on_disk(d) == head_files);
  Trial t;
  for (int i = 0; i < trials(); ++i) {
    INFO("trial " << i);
    fs::remove_all(d / "a");
    if (kill_during(d.path(), {"restore", "a"}, typical, rng)) ++t.killed;
    else ++t.finished;
    const json status = settle(d, t);
    INFO(status.dump());
    REQUIRE(status["staged"].empty());
    REQUIRE(status["untracked"].empty());
    // Killed before its journal: some files not restored yet (deleted), none wrong.
    for (const auto& e : status["unstaged"]) REQUIRE(e["change"] == "deleted");
    for (const auto& [path, sha] : files_on_disk(d)) REQUIRE(head_files.at(path) == sha);
    REQUIRE(run_kura(d.path(), {"restore", "a"}).exit_code == 0);
    REQUIRE(files_on_disk(d) == head_files);
  }
  REQUIRE(t.killed > 0);
}

TEST_CASE("cli: a branch lock left by a killed commit is removed by the next commit which says so and commits", "[cli][recover]") {
  TempDir d;
  REQUIRE(run_kura(d.path(), {"init"}).exit_code == 0);
  write_file(d / ".kura/checks.json", R"({"profile": "generic"})");
  write_file(d / "a.bin", "first");
  REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"commit", "-m", "base"}).exit_code == 0);
  const std::string base = json::parse(run_kura(d.path(), {"log", "--json"}).out)[0]["id"];
  write_file(d / "b.bin", "second");
  REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
  // What a commit killed between libgit2's lock and its rename leaves.
  write_file(d / ".kura/git/refs/heads/main.lock", base + "\n");
  auto c = run_kura(d.path(), {"commit", "-m", "after the kill"});
  INFO(c.err);
  REQUIRE(c.exit_code == 0);
  REQUIRE_THAT(c.err, Catch::Contains("removed the stale lock file .kura/git/refs/heads/main.lock"));
  REQUIRE_FALSE(fs::exists(d / ".kura/git/refs/heads/main.lock"));
  const json head = json::parse(run_kura(d.path(), {"log", "--json", "-n", "1"}).out)[0];
  REQUIRE(head["message"] == "after the kill\n");
  REQUIRE(head["parents"][0] == base);
  REQUIRE(files_of(d, "HEAD") == files_on_disk(d));
}
