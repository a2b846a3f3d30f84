// The kura binary driven like a user: output formats, exit codes, locking,
// concurrent processes, and kill -9 at random moments.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "kura/repo.hpp"
#include "support.hpp"

using namespace kura;
using namespace kura::test;
using nlohmann::json;

namespace {

std::string example(const std::string& jpeg, const std::string& label) {
  return R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,)" +
         base64(jpeg) + R"("}}]},{"role":"assistant","content":")" + label + R"("}]})";
}

void make_dataset(const TempDir& d) {
  write_file(d / "images/fish/fish.jpg", data_file("fish.jpg"));
  write_file(d / "images/logo/linux.jpg", data_file("linux.jpg"));
  write_file(d / "images/logo/windows.jpg", data_file("windows.jpg"));
  write_file(d / "train.jsonl", example(data_file("fish.jpg"), "fish") + "\n" + example(data_file("linux.jpg"), "logo") + "\n");
}

// A repository whose commits check only format and integrity (the "generic"
// profile): these tests are about storage; tests/check covers the rules.
void init_repo(const TempDir& d) {
  REQUIRE(run_kura(d.path(), {"init"}).exit_code == 0);
  write_file(d / ".kura/checks.json", R"({"profile": "generic"})");
}

}  // namespace

TEST_CASE("cli: init, add, commit, log, show and checkout round trip", "[cli]") {
  TempDir d;
  make_dataset(d);
  init_repo(d);
  auto add = run_kura(d.path(), {"add", ".", "--json"});
  REQUIRE(add.exit_code == 0);
  REQUIRE(json::parse(add.out)["files_added"] == 4);
  auto status = json::parse(run_kura(d.path(), {"status", "--json"}).out);
  REQUIRE(status["branch"] == "main");
  REQUIRE(status["staged"].size() == 4);
  auto commit = run_kura(d.path(), {"commit", "-m", "first version", "--json"});
  REQUIRE(commit.exit_code == 0);
  const std::string c1 = json::parse(commit.out)["id"];
  const std::string train_v1 = read_file(d / "train.jsonl");

  write_file(d / "train.jsonl", example(data_file("windows.jpg"), "logo") + "\n");
  fs::remove(d / "images/fish/fish.jpg");
  REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"commit", "-m", "second version"}).exit_code == 0);

  auto log = json::parse(run_kura(d.path(), {"log", "--json"}).out);
  REQUIRE(log.size() == 2);
  REQUIRE(log[1]["id"] == c1);
  REQUIRE(log[0]["message"] == "second version\n");
  auto shown = run_kura(d.path(), {"show", "HEAD~1:train.jsonl"});
  REQUIRE(shown.exit_code == 0);
  REQUIRE(sha256_hex(shown.out) == sha256_hex(train_v1));
  auto files = json::parse(run_kura(d.path(), {"ls-files", c1, "--json"}).out);
  REQUIRE(files.size() == 4);
  REQUIRE(files[3]["path"] == "train.jsonl");
  REQUIRE(files[3]["kind"] == "table");
  REQUIRE(files[3]["rows"] == 2);
  REQUIRE(files[3]["sha256"] == sha256_hex(train_v1));

  REQUIRE(run_kura(d.path(), {"checkout", c1.substr(0, 10)}).exit_code == 0);
  REQUIRE(read_file(d / "train.jsonl") == train_v1);
  REQUIRE(read_file(d / "images/fish/fish.jpg") == data_file("fish.jpg"));
  REQUIRE(run_kura(d.path(), {"switch", "main"}).exit_code == 0);
  REQUIRE_FALSE(fs::exists(d / "images/fish/fish.jpg"));
  auto fsck = run_kura(d.path(), {"fsck", "--json"});
  REQUIRE(fsck.exit_code == 0);
  REQUIRE(json::parse(fsck.out)["ok"] == true);
}

TEST_CASE("cli: exit codes say what happened", "[cli]") {
  TempDir d;
  auto not_repo = run_kura(d.path(), {"status"});
  REQUIRE(not_repo.exit_code == 2);
  REQUIRE_THAT(not_repo.err, Catch::Contains("not a kura repository"));
  REQUIRE(run_kura(d.path(), {"init"}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"init"}).exit_code == 2);
  REQUIRE(run_kura(d.path(), {"commit", "-m", "empty"}).exit_code == 1);  // nothing to commit
  REQUIRE(run_kura(d.path(), {"frobnicate"}).exit_code == 2);
  auto missing = run_kura(d.path(), {"add", "no-such-file.jpg"});
  REQUIRE(missing.exit_code == 2);
  REQUIRE_THAT(missing.err, Catch::Contains("no-such-file.jpg"));
  write_file(d / "a.jpg", data_file("fish.jpg"));
  run_kura(d.path(), {"add", "."});
  run_kura(d.path(), {"commit", "-m", "one"});
  auto bad_rev = run_kura(d.path(), {"checkout", "nope"});
  REQUIRE(bad_rev.exit_code == 2);
  REQUIRE_THAT(bad_rev.err, Catch::Contains("unknown revision 'nope'"));
  write_file(d / "a.jpg", "local edit");
  run_kura(d.path(), {"branch", "other"});
  run_kura(d.path(), {"tag", "v1"});
  REQUIRE(run_kura(d.path(), {"show", "v1:a.jpg"}).out == data_file("fish.jpg"));
}

TEST_CASE("cli: a held lock makes a second process wait, then fail with code 3", "[cli][lock]") {
  TempDir d;
  REQUIRE(run_kura(d.path(), {"init"}).exit_code == 0);
  auto holder = Repo::open(d.path());  // this process holds .kura/lock
  auto r = run_kura(d.path(), {"--lock-timeout", "0.3", "status"});
  REQUIRE(r.exit_code == 3);
  REQUIRE_THAT(r.err, Catch::Contains(".kura/lock"));
  REQUIRE_THAT(r.err, Catch::Contains("pid " + std::to_string(::getpid())));
  holder.reset();
  REQUIRE(run_kura(d.path(), {"status"}).exit_code == 0);
}

TEST_CASE("cli: concurrent writers take turns and never corrupt the repository", "[cli][lock]") {
  TempDir d;
  init_repo(d);
  for (int i = 0; i < 20; ++i) {
    std::string img = data_file(i % 2 ? "fish.jpg" : "linux.jpg");
    img += std::to_string(i);  // distinct bytes per file
    write_file(d / ("a/" + std::to_string(i) + ".jpg"), img);
    write_file(d / ("b/" + std::to_string(i) + ".jpg"), img + "b");
  }
  std::vector<int> pids;
  for (int round = 0; round < 3; ++round) {
    pids.push_back(spawn_kura(d.path(), {"add", "a"}));
    pids.push_back(spawn_kura(d.path(), {"add", "b"}));
    pids.push_back(spawn_kura(d.path(), {"status"}));
  }
  for (int pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
  }
  REQUIRE(json::parse(run_kura(d.path(), {"ls-files", "--json"}).out).size() == 40);
  REQUIRE(run_kura(d.path(), {"commit", "-m", "both"}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"fsck"}).exit_code == 0);
}

TEST_CASE("cli: kill -9 at random moments of add and commit never breaks the repository", "[cli][crash]") {
  TempDir d;
  init_repo(d);
  std::mt19937 rng(12345);
  auto random_bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  };
  for (int i = 0; i < 30; ++i) write_file(d / ("img/" + std::to_string(i) + ".bin"), random_bytes(20000));
  write_file(d / "train.jsonl", example(data_file("fish.jpg"), "fish") + "\n");
  REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"commit", "-m", "base"}).exit_code == 0);

  int landed = 0, killed = 0;
  for (int round = 0; round < 24; ++round) {
    INFO("round " << round);
    for (int k = 0; k < 5; ++k)
      write_file(d / ("img/" + std::to_string(rng() % 40) + ".bin"), random_bytes(5000 + rng() % 40000));
    write_file(d / "train.jsonl", read_file(d / "train.jsonl") + example(data_file("linux.jpg"), std::to_string(round)) + "\n");
    const std::string before = json::parse(run_kura(d.path(), {"log", "--json", "-n", "1"}).out)[0]["id"];

    // A killed add must leave the index usable; the next add completes it.
    int add_pid = spawn_kura(d.path(), {"add", "."});
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 40));
    ::kill(add_pid, SIGKILL);
    ::waitpid(add_pid, nullptr, 0);
    REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
    const std::string train_now = read_file(d / "train.jsonl");

    int pid = spawn_kura(d.path(), {"commit", "-m", "round " + std::to_string(round)});
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 60000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) ++killed;

    auto fsck = run_kura(d.path(), {"fsck"});
    REQUIRE(fsck.exit_code == 0);
    const json head = json::parse(run_kura(d.path(), {"log", "--json", "-n", "1"}).out)[0];
    if (head["message"] == "round " + std::to_string(round) + "\n") {
      ++landed;
      REQUIRE(head["parents"][0] == before);
      REQUIRE(run_kura(d.path(), {"show", "HEAD:train.jsonl"}).out == train_now);
    } else {
      REQUIRE(head["id"] == before);  // the last good commit, intact
      REQUIRE(run_kura(d.path(), {"commit", "-m", "round " + std::to_string(round)}).exit_code == 0);
    }
  }
  INFO("killed " << killed << ", landed before the kill " << landed);
  REQUIRE(killed > 5);  // the kills really hit running commits
  REQUIRE(run_kura(d.path(), {"fsck"}).exit_code == 0);
}

TEST_CASE("cli: an unreadable file is named, and nothing is staged", "[cli]") {
  TempDir d;
  fs::permissions(d.path(), fs::perms::all);
  std::vector<std::string> as_user;
  if (::geteuid() == 0) as_user = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  auto run_as = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = as_user;
    argv.push_back(kura_binary());
    argv.insert(argv.end(), args.begin(), args.end());
    return run(d.path(), argv, {{"HOME", d.path().string()}});
  };
  REQUIRE(run_as({"init"}).exit_code == 0);
  write_file(d / "ok.jpg", data_file("fish.jpg"));
  write_file(d / "secret.jpg", data_file("linux.jpg"));
  fs::permissions(d / "secret.jpg", fs::perms::none);
  auto r = run_as({"add", "."});
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(r.err, Catch::Contains("secret.jpg"));
  REQUIRE_THAT(r.err, Catch::Contains("Permission denied"));
  REQUIRE(run_as({"ls-files", "--json"}).out == "[]\n");
}

TEST_CASE("cli: the git pre-commit hook blocks a CMYK image and lets a clean commit through", "[cli][check][git]") {
  TempDir d;
  TempDir home;
  const std::map<std::string, std::string> env = {
      {"KURA", kura_binary()},          {"HOME", home.path().string()},
      {"GIT_AUTHOR_NAME", "T"},         {"GIT_AUTHOR_EMAIL", "t@example.com"},
      {"GIT_COMMITTER_NAME", "T"},      {"GIT_COMMITTER_EMAIL", "t@example.com"}};
  REQUIRE(run(d.path(), {"git", "init", "-q"}, env).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"hook", "install"}).exit_code == 0);
  REQUIRE(fs::exists(d / ".git/hooks/pre-commit"));
  write_file(d / "photos/bad.jpg", read_file(data_path("../check/data/cmyk.jpg")));
  REQUIRE(run(d.path(), {"git", "add", "photos"}, env).exit_code == 0);
  auto blocked = run(d.path(), {"git", "commit", "-q", "-m", "bad"}, env);
  REQUIRE(blocked.exit_code != 0);
  REQUIRE_THAT(blocked.out + blocked.err, Catch::Contains("image.bad_color_mode"));
  REQUIRE_THAT(blocked.out + blocked.err, Catch::Contains("photos/bad.jpg"));
  write_file(d / "photos/bad.jpg", data_file("fish.jpg"));
  REQUIRE(run(d.path(), {"git", "add", "photos"}, env).exit_code == 0);
  auto ok = run(d.path(), {"git", "commit", "-q", "-m", "good"}, env);
  INFO(ok.out << ok.err);
  REQUIRE(ok.exit_code == 0);
}

TEST_CASE("cli: kura check --policy names a missing policy file instead of using the defaults", "[cli][check]") {
  TempDir d;
  TempDir cache;
  const std::map<std::string, std::string> env = {{"XDG_CACHE_HOME", cache.path().string()}};
  write_file(d / "photos/fish.jpg", data_file("fish.jpg"));
  write_file(d / "strict.json", R"({"rules": {"image.exif_rotated": "error"}})");
  auto missing = run_kura(d.path(), {"check", "--no-faces", "--policy", "no-such-policy.json"}, env);
  REQUIRE(missing.exit_code == 2);
  REQUIRE_THAT(missing.err, Catch::Contains("no-such-policy.json"));
  REQUIRE_THAT(missing.err, Catch::Contains("No such file"));
  // -C: the path is taken from the folder given, as every path is.
  auto moved = run_kura(d.path(), {"-C", "photos", "check", "--no-faces", "--policy", "strict.json"}, env);
  REQUIRE(moved.exit_code == 2);
  REQUIRE(run_kura(d.path(), {"-C", "photos", "check", "--no-faces", "--policy", "../strict.json"}, env).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"check", "--no-faces", "--policy", "strict.json"}, env).exit_code == 0);
}

TEST_CASE("cli: add says it skips a .GIT folder, which macOS and Windows take for .git", "[cli]") {
  TempDir d;
  init_repo(d);
  write_file(d / ".GIT/x", "x\n");
  write_file(d / "ok.txt", "ok\n");
  auto add = run_kura(d.path(), {"add", "."});
  REQUIRE(add.exit_code == 0);
  REQUIRE(add.err.find("kura: skipped .GIT: '.GIT' is .git on case-insensitive") != std::string::npos);
  auto files = json::parse(run_kura(d.path(), {"status", "--json"}).out);
  REQUIRE(files["staged"].size() == 1);
  REQUIRE(files["untracked"].empty());
}
