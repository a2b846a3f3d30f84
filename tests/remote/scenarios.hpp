// Remote scenarios shared by the folder tests (remote_folder_test.cpp) and
// the S3 tests (remote_s3_test.cpp, against a real Ceph RGW): each takes a
// RemoteSite, a fresh, empty remote location and a backend onto it through
// which a test inspects or damages what the remote holds.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "kura/error.hpp"
#include "kura/remote.hpp"
#include "remote/backend.hpp"
#include "repo/fixture.hpp"

namespace kura::test {

struct RemoteSite {
  std::string url;                           // for `kura remote add` / clone
  std::unique_ptr<remote::Backend> backend;  // the same place, for inspection
  std::map<std::string, std::string> env;    // for the CLI (credentials, endpoint)
};

// `n` distinct real JPEG files: fish.jpg with a numbered trailer after its
// end-of-image marker (decoders ignore it; the bytes, and the ids, differ).
inline void write_images(const fs::path& dir, size_t n, const std::string& tag = "") {
  const std::string jpeg = data_file("fish.jpg");
  for (size_t i = 0; i < n; ++i)
    write_file(dir / ("img/" + std::to_string(i) + ".jpg"),
               jpeg + "kura-test " + tag + std::to_string(i));
}

inline size_t count_keys(remote::Backend& b, const std::string& prefix) {
  size_t n = 0;
  b.list(prefix, [&](const std::string&) { ++n; });
  return n;
}

inline void flip_byte(remote::Backend& b, const std::string& key) {
  auto v = b.get(key);
  REQUIRE(v);
  (*v)[v->size() / 2] ^= 0x01;
  b.put(key, *v, nullptr);
}

// A repository with two commits: v1 (a.jpg, train.jsonl) and v2 (a.jpg
// changed, b.jpg added), pushed to the site as origin/main.
struct PushedRepo {
  RepoFixture src;
  CommitInfo v1, v2;
  explicit PushedRepo(RemoteSite& site) {
    src.write("a.jpg", data_file("fish.jpg"));
    src.write("train.jsonl", vision_example(data_file("linux.jpg"), "logo") + "\n");
    src.add_all();
    v1 = src.commit("v1");
    src.write("a.jpg", data_file("windows.jpg"));
    src.write("b.png", data_file("pic1.png"));
    src.add_all();
    v2 = src.commit("v2");
    add_remote(*src.repo, "origin", site.url);
    push(*src.repo, "origin", "", {});
  }
};

inline void scenario_push_and_clone(RemoteSite& site) {
  PushedRepo p(site);
  // Everything the source holds is on the remote: media, rows, manifest, images.
  REQUIRE(count_keys(*site.backend, "objects/") == p.src.object_count());
  TempDir dest;
  CloneResult c = clone(site.url, dest / "copy", {});
  REQUIRE(c.commit == p.v2.id);
  REQUIRE(c.fetch.objects_received == p.src.object_count());
  REQUIRE(read_file(dest / "copy/a.jpg") == data_file("windows.jpg"));
  REQUIRE(read_file(dest / "copy/b.png") == data_file("pic1.png"));
  REQUIRE(read_file(dest / "copy/train.jsonl") == p.src.read("train.jsonl"));
  auto repo = Repo::open(dest / "copy");
  REQUIRE(repo->fsck().ok());
  REQUIRE(repo->log("HEAD", 0).size() == 2);
  REQUIRE(repo->status().clean());
  // Nothing new: a second push sends nothing.
  TransferReport again = push(*p.src.repo, "origin", "", {});
  REQUIRE(again.up_to_date());
  REQUIRE(again.objects_sent == 0);
}

inline void scenario_second_push_sends_only_changes(RemoteSite& site) {
  RepoFixture f;
  write_images(f.dir.path(), 40);
  f.add_all();
  f.commit("forty images");
  add_remote(*f.repo, "origin", site.url);
  TransferReport first = push(*f.repo, "origin", "", {});
  REQUIRE(first.objects_sent == 40);
  write_images(f.dir.path(), 3, "changed ");  // rewrites img/0..2
  f.add_all();
  f.commit("three changed");
  TransferReport second = push(*f.repo, "origin", "", {});
  REQUIRE(second.objects_sent == 3);
  REQUIRE(second.objects_present == 0);  // negotiation alone found them: no request per object
  // commit, root tree, img/ tree and three pointer blobs
  REQUIRE(second.git_objects_sent == 6);
}

inline void scenario_two_pushers(RemoteSite& site) {
  PushedRepo p(site);
  TempDir d;
  clone(site.url, d / "alice", {});
  clone(site.url, d / "bob", {});
  auto alice = Repo::open(d / "alice");
  auto bob = Repo::open(d / "bob");
  write_file(d / "alice/alice.jpg", data_file("linux.jpg"));
  alice->add({(d / "alice").string()});
  CommitOptions o;
  o.verify = false;
  o.message = "alice";
  alice->commit(o);
  write_file(d / "bob/bob.png", data_file("pic1.png") + "bob");
  bob->add({(d / "bob").string()});
  o.message = "bob";
  bob->commit(o);

  push(*alice, "origin", "", {});
  try {
    push(*bob, "origin", "", {});
    FAIL("the second push was accepted");
  } catch (const Error& e) {
    REQUIRE(e.code() == ErrorCode::kConflict);
    REQUIRE_THAT(e.what(), Catch::Contains("pull first"));
  }
  // The remote still has alice's commit.
  auto ref = site.backend->get("refs/heads/main");
  REQUIRE(ref);
  REQUIRE(ref->substr(0, 40) == alice->resolve("HEAD").id);

  // The data has one example in train.jsonl, an error for the checks that a
  // merge commit runs: this scenario is about the transfer, not the checks.
  TransferOptions unchecked;
  unchecked.verify = false;
  PullResult pulled = pull(*bob, "origin", "", unchecked);
  REQUIRE_FALSE(pulled.merge.fast_forward);
  REQUIRE(read_file(d / "bob/alice.jpg") == data_file("linux.jpg"));
  REQUIRE(read_file(d / "bob/bob.png") == data_file("pic1.png") + "bob");
  TransferReport r = push(*bob, "origin", "", {});
  REQUIRE(r.refs.size() == 1);
  REQUIRE(r.objects_sent == 1);  // bob.png; alice.jpg came from the remote

  PullResult a = pull(*alice, "origin", "", {});
  REQUIRE(a.merge.fast_forward);
  REQUIRE(read_file(d / "alice/bob.png") == data_file("pic1.png") + "bob");
  REQUIRE(alice->fsck().ok());
}

// Starts `kura push`, kills it with SIGKILL once some objects have arrived,
// then pushes again: nothing that arrived is sent twice.
inline void scenario_killed_push_resumes(RemoteSite& site, size_t images) {
  TempDir d;
  REQUIRE(run_kura(d.path(), {"init"}).exit_code == 0);
  write_images(d.path(), images);
  REQUIRE(run_kura(d.path(), {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"commit", "--no-verify", "-m", "images"}, site.env).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"remote", "add", "origin", site.url}).exit_code == 0);

  for (const auto& [k, v] : site.env) ::setenv(k.c_str(), v.c_str(), 1);
  int pid = spawn_kura(d.path(), {"push", "origin"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  size_t arrived = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    arrived = count_keys(*site.backend, "objects/");
    if (arrived >= images / 10) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  // Killed before the ref moved: the remote has some objects and no branch.
  REQUIRE_FALSE(site.backend->get("refs/heads/main"));
  arrived = count_keys(*site.backend, "objects/");
  REQUIRE(arrived > 0);
  REQUIRE(arrived < images);

  RunResult again = run_kura(d.path(), {"push", "origin", "--json"});
  REQUIRE(again.exit_code == 0);
  auto j = nlohmann::json::parse(again.out);
  REQUIRE(j["objects_sent"].get<size_t>() == images - arrived);
  REQUIRE(j["objects_present"].get<size_t>() >= arrived);
  REQUIRE(count_keys(*site.backend, "objects/") == images);
  TempDir dest;
  REQUIRE(run_kura(dest.path(), {"clone", site.url, "copy"}).exit_code == 0);
  REQUIRE(run_kura(dest / "copy", {"fsck"}).exit_code == 0);
}

// Starts `kura pull` of many new images, kills it with SIGKILL once the
// first batch of objects is durable here, then pulls again: what arrived is
// not fetched again.
inline void scenario_killed_pull_resumes(RemoteSite& site, size_t images) {
  TempDir d;
  REQUIRE(run_kura(d / "", {"init", "src"}).exit_code == 0);
  write_file(d / "src/first.jpg", data_file("linux.jpg"));
  REQUIRE(run_kura(d / "src", {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d / "src", {"commit", "--no-verify", "-m", "first"}).exit_code == 0);
  REQUIRE(run_kura(d / "src", {"remote", "add", "origin", site.url}).exit_code == 0);
  for (const auto& [k, v] : site.env) ::setenv(k.c_str(), v.c_str(), 1);
  REQUIRE(run_kura(d / "src", {"push"}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"clone", site.url, "dest"}).exit_code == 0);
  write_images(d / "src", images);
  REQUIRE(run_kura(d / "src", {"add", "."}).exit_code == 0);
  REQUIRE(run_kura(d / "src", {"commit", "--no-verify", "-m", "images"}).exit_code == 0);
  REQUIRE(run_kura(d / "src", {"push"}).exit_code == 0);

  // Each durable batch of objects (500) is a flush that writes a blob file:
  // once the second batch's blob file appears, the first batch is durable.
  auto blob_files = [&] {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(d / "dest/.kura/store"))
      if (e.path().extension() == ".blob") ++n;
    return n;
  };
  const size_t blobs_before = blob_files();
  int pid = spawn_kura(d / "dest", {"pull"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && blob_files() < blobs_before + 2)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE_FALSE(fs::exists(d / "dest/img"));  // killed before the files were written

  RunResult again = run_kura(d / "dest", {"pull", "--json"});
  REQUIRE(again.exit_code == 0);
  auto j = nlohmann::json::parse(again.out);
  REQUIRE(j["objects_present"].get<size_t>() > 0);
  REQUIRE(j["objects_received"].get<size_t>() + j["objects_present"].get<size_t>() == images);
  REQUIRE(read_file(d / "dest/img/7.jpg") == read_file(d / "src/img/7.jpg"));
  REQUIRE(run_kura(d / "dest", {"fsck"}).exit_code == 0);
}

inline void scenario_flipped_byte_refused(RemoteSite& site) {
  PushedRepo p(site);
  TempDir d;
  clone(site.url, d / "copy", {});
  // A new image, pushed, then damaged on the remote.
  p.src.write("c.jpg", data_file("linux.jpg") + "new");
  p.src.add_all();
  p.src.commit("v3");
  push(*p.src.repo, "origin", "", {});
  const ObjectId damaged = sha256(data_file("linux.jpg") + "new");
  flip_byte(*site.backend, remote::object_key(damaged));

  auto copy = Repo::open(d / "copy");
  try {
    pull(*copy, "origin", "", {});
    FAIL("a damaged object was accepted");
  } catch (const Error& e) {
    REQUIRE(e.code() == ErrorCode::kCorrupt);
    REQUIRE_THAT(e.what(), Catch::Contains(damaged.hex()));
    REQUIRE_THAT(e.what(), Catch::Contains("does not match its hash"));
  }
  REQUIRE_FALSE(copy->store().has_object(damaged));
  REQUIRE(copy->resolve("HEAD").id == p.v2.id);  // nothing moved
  REQUIRE_FALSE(fs::exists(d / "copy/c.jpg"));
  REQUIRE(copy->fsck().ok());
  // A clone of the damaged remote fails too and leaves no folder behind.
  REQUIRE_THROWS_AS(clone(site.url, d / "second", {}), Error);
  REQUIRE_FALSE(fs::exists(d / "second"));
}

inline void scenario_depth1_clone_fetches_on_demand(RemoteSite& site) {
  enable_on_demand_fetch();
  PushedRepo p(site);
  TempDir d;
  CloneOptions o;
  o.depth = 1;
  CloneResult c = clone(site.url, d / "shallow", o);
  // v2's objects only: windows.jpg, pic1.png, the table's manifest, rows and image.
  REQUIRE(c.fetch.objects_received == p.src.object_count() - 1);  // all but v1's fish.jpg
  // Every git object (history stays browsable offline): two commits, two
  // trees, four pointers.
  REQUIRE(c.fetch.git_objects_received == 8);
  auto repo = Repo::open(d / "shallow");
  const ObjectId fish = sha256(data_file("fish.jpg"));
  REQUIRE_FALSE(repo->store().has_object(fish));
  // show: v1's a.jpg comes from the remote when read.
  auto file = repo->file_at("HEAD~1", "a.jpg");
  REQUIRE(file);
  std::string bytes;
  repo->read_file(*file, [&](std::string_view b) { bytes.append(b); });
  REQUIRE(bytes == data_file("fish.jpg"));
  REQUIRE(repo->store().has_object(fish));
  // checkout of the older commit writes its files.
  repo->checkout("HEAD~1", {});
  REQUIRE(read_file(d / "shallow/a.jpg") == data_file("fish.jpg"));
  REQUIRE_FALSE(fs::exists(d / "shallow/b.png"));
}

}  // namespace kura::test
