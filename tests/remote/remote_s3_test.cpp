// Remotes in S3-compatible storage, against a real Ceph RADOS Gateway on
// loopback (scripts/ceph-s3.sh, started by scripts/test.sh). These tests
// carry the CTest label `s3` and their own binary, kura_s3_tests; they need
// AWS_ENDPOINT_URL and credentials in the environment, as test.sh sets.
#include <chrono>
#include <cstdlib>
#include <random>

#include "scenarios.hpp"

using namespace kura;
using namespace kura::test;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

void require_s3() {
  if (env("AWS_ENDPOINT_URL").empty() || env("AWS_ACCESS_KEY_ID").empty())
    FAIL(
        "no S3 store: run these through scripts/test.sh, which starts Ceph RGW (scripts/ceph-s3.sh "
        "up; "
        "eval \"$(scripts/ceph-s3.sh env)\")");
}

// A fresh bucket per test, so tests run in parallel without meeting.
struct S3Site {
  RemoteSite site;
  explicit S3Site(const std::string& prefix = "set") {
    require_s3();
    std::random_device rd;
    site.url = "s3://kura-test-" + std::to_string(rd()) + "/" + prefix;
    RemoteSettings s;
    s.url = site.url;
    site.backend = remote::open_backend(s);
    site.backend->prepare_for_writes();
  }
};

}  // namespace

TEST_CASE("S3: push and clone give the same files", "[s3]") {
  S3Site s;
  scenario_push_and_clone(s.site);
}

TEST_CASE("S3: a second push after changing three files sends three objects", "[s3]") {
  S3Site s;
  scenario_second_push_sends_only_changes(s.site);
}

TEST_CASE("S3: the second of two pushers is told to pull first and then pull and push work",
          "[s3]") {
  S3Site s;
  scenario_two_pushers(s.site);
}

TEST_CASE("S3: a push killed with SIGKILL resumes without sending again what arrived", "[s3]") {
  S3Site s;
  scenario_killed_push_resumes(s.site, 1500);
}

TEST_CASE("S3: a pull killed with SIGKILL resumes without fetching again what arrived", "[s3]") {
  S3Site s;
  scenario_killed_pull_resumes(s.site, 1200);
}

TEST_CASE("S3: an object damaged in the bucket is refused by pull and clone", "[s3]") {
  S3Site s;
  scenario_flipped_byte_refused(s.site);
}

TEST_CASE("S3: a depth-1 clone holds one commit's objects and fetches others when read", "[s3]") {
  S3Site s;
  scenario_depth1_clone_fetches_on_demand(s.site);
}

TEST_CASE("S3: a remote at the bucket's root works without a prefix", "[s3]") {
  S3Site s("");
  scenario_push_and_clone(s.site);
}

TEST_CASE("S3: large objects go up in parts and come back whole", "[s3]") {
  S3Site s;
  RepoFixture f;
  // 12 MB of real image bytes, numbered so no two 5 MB parts are alike.
  std::string big;
  const std::string jpeg = data_file("windows.jpg");
  for (int i = 0; big.size() < (12u << 20); ++i) big += jpeg + std::to_string(i);
  f.write("video.bin", big);
  f.add_all();
  f.commit("big");
  add_remote(*f.repo, "origin", s.site.url);
  f.repo->set_config("remote.origin.multipart-threshold", "5MiB");
  f.repo->set_config("remote.origin.part-size", "5MiB");
  TransferReport r = push(*f.repo, "origin", "", {});
  REQUIRE(r.objects_sent == 1);
  // S3 names a multipart object's ETag after its part count.
  auto head = s.site.backend->get_versioned(remote::object_key(sha256(big)));
  REQUIRE(head.version.size() > 2);
  REQUIRE(head.version.substr(head.version.size() - 2) == "-3");
  TempDir d;
  clone(s.site.url, d / "copy", {});
  REQUIRE(read_file(d / "copy/video.bin") == big);
}

TEST_CASE("S3: wrong credentials give a clear error naming HTTP 403", "[s3]") {
  S3Site s;
  PushedRepo p(s.site);
  TempDir d;
  const std::string secret = "not-the-secret-kura-test";
  RunResult r =
      run_kura(d.path(), {"clone", s.site.url, "copy"}, {{"AWS_SECRET_ACCESS_KEY", secret}});
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(r.err, Catch::Contains("HTTP 403 Forbidden"));
  REQUIRE_THAT(r.err, Catch::Contains("AWS_SECRET_ACCESS_KEY"));
  REQUIRE(r.err.find(secret) == std::string::npos);  // credentials are never printed
  REQUIRE_FALSE(fs::exists(d / "copy"));
  RunResult none = run_kura(d.path(), {"clone", s.site.url, "copy"}, {{"AWS_ACCESS_KEY_ID", ""}});
  REQUIRE(none.exit_code == 2);
  REQUIRE_THAT(none.err, Catch::Contains("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"));
}

TEST_CASE("S3: an unreachable endpoint gives a clear error within a bounded time", "[s3]") {
  require_s3();
  TempDir d;
  const auto start = std::chrono::steady_clock::now();
  RunResult r = run_kura(d.path(), {"clone", "s3://kura-nowhere/set", "copy"},
                         {{"AWS_ENDPOINT_URL", "http://127.0.0.1:1"}});
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(r.err, Catch::Contains("cannot reach the S3 endpoint http://127.0.0.1:1"));
  REQUIRE(secs < 20);  // three attempts, each bounded by the connect timeout
}
