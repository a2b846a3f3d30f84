// Credentials never enter the config or a message: URLs with a user name or
// password are refused, and every URL kura prints is redacted.
#include <catch2/catch.hpp>

#include "kura/error.hpp"
#include "kura/remote.hpp"
#include "support.hpp"
#include "util/url.hpp"

using namespace kura;
using namespace kura::test;

namespace {

// The message of the Error that `f` throws; fails the test when none.
template <typename F>
std::string error_of(F&& f, ErrorCode code) {
  try {
    f();
  } catch (const Error& e) {
    REQUIRE(e.code() == code);
    return e.what();
  }
  FAIL("no error thrown");
  return "";
}

std::unique_ptr<Repo> make_repo(const TempDir& d) {
  Repo::init(d.path(), "main");
  return Repo::open(d.path());
}

}  // namespace

TEST_CASE("redact_url hides user names, passwords and signed query values", "[remote][fast]") {
  REQUIRE(redact_url("https://AKIAX:s3cr3t@s3.example.com:9000/b") == "https://***@s3.example.com:9000/b");
  REQUIRE(redact_url("http://user@host/p@q") == "http://***@host/p@q");
  REQUIRE(redact_url("s3://bucket/prefix") == "s3://bucket/prefix");
  REQUIRE(redact_url("/srv/data.kura") == "/srv/data.kura");
  REQUIRE(redact_url("https://h/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAX%2F2024&X-Amz-Signature=ab12#f") ==
          "https://h/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***&X-Amz-Signature=***#f");
  REQUIRE(redact_url("https://u:p@h/?x-amz-security-token=T&list-type=2") ==
          "https://***@h/?x-amz-security-token=***&list-type=2");
  REQUIRE(url_has_userinfo("https://a:b@h"));
  REQUIRE(url_has_userinfo("https://a@h/"));
  REQUIRE_FALSE(url_has_userinfo("https://h/a@b"));
  REQUIRE_FALSE(url_has_userinfo("/srv/a@b"));
}

TEST_CASE("remote add refuses a URL or endpoint with a password and stores nothing", "[remote]") {
  TempDir d;
  auto repo = make_repo(d);
  std::string msg = error_of([&] { add_remote(*repo, "origin", "file://ak:s3cr3t@/srv/set.kura"); },
                             ErrorCode::kInvalidInput);
  REQUIRE(msg.find("AWS_ACCESS_KEY_ID") != std::string::npos);
  REQUIRE(msg.find("file://***@/srv/set.kura") != std::string::npos);
  REQUIRE(msg.find("s3cr3t") == std::string::npos);
  msg = error_of([&] { add_remote(*repo, "origin", "s3://bucket/set", "https://ak:s3cr3t@s3.example.com"); },
                 ErrorCode::kInvalidInput);
  REQUIRE(msg.find("the endpoint 'https://***@s3.example.com'") != std::string::npos);
  REQUIRE(msg.find("s3cr3t") == std::string::npos);
  REQUIRE_FALSE(repo->config("remote.origin.url"));
  REQUIRE_FALSE(repo->config("remote.origin.endpoint"));
  add_remote(*repo, "origin", "s3://bucket/set", "https://s3.example.com");
  REQUIRE(repo->config("remote.origin.endpoint") == "https://s3.example.com");
}

TEST_CASE("clone refuses a URL with a password and leaves no folder", "[remote]") {
  TempDir d;
  std::string msg = error_of([&] { clone("s3://ak:s3cr3t@bucket/set", d / "copy", {}); }, ErrorCode::kInvalidInput);
  REQUIRE(msg.find("AWS_SECRET_ACCESS_KEY") != std::string::npos);
  REQUIRE(msg.find("s3cr3t") == std::string::npos);
  REQUIRE_FALSE(fs::exists(d / "copy"));
}

TEST_CASE("cli: an AWS_ENDPOINT_URL with a password is refused before any request, redacted", "[remote][cli]") {
  TempDir d;
  auto r = run_kura(d.path(), {"clone", "s3://bucket/set", "copy"},
                    {{"AWS_ENDPOINT_URL", "http://ak:s3cr3t@127.0.0.1:9"},
                     {"AWS_ACCESS_KEY_ID", "ak"},
                     {"AWS_SECRET_ACCESS_KEY", "sk"}});
  REQUIRE(r.exit_code != 0);
  REQUIRE(r.err.find("AWS_ENDPOINT_URL 'http://***@127.0.0.1:9'") != std::string::npos);
  REQUIRE(r.err.find("AWS_ACCESS_KEY_ID") != std::string::npos);
  REQUIRE(r.err.find("s3cr3t") == std::string::npos);
  REQUIRE_FALSE(fs::exists(d / "copy"));
}

TEST_CASE("cli: a password an older kura stored is redacted by remote -v and refused on use", "[remote][cli]") {
  TempDir d;
  make_repo(d)->set_config("remote.old.url", "file://ak:s3cr3t@/srv/set.kura");
  {
    auto repo = Repo::open(d.path());
    repo->set_config("remote.s3.url", "s3://bucket/set");
    repo->set_config("remote.s3.endpoint", "https://ak:s3cr3t@s3.example.com/?X-Amz-Signature=abc");
  }
  auto listed = run_kura(d.path(), {"remote", "-v"});
  REQUIRE(listed.exit_code == 0);
  REQUIRE(listed.out.find("old\tfile://***@/srv/set.kura") != std::string::npos);
  REQUIRE(listed.out.find("(endpoint https://***@s3.example.com/?X-Amz-Signature=***)") != std::string::npos);
  auto json = run_kura(d.path(), {"remote", "--json"});
  REQUIRE(json.exit_code == 0);
  REQUIRE(json.out.find("***@") != std::string::npos);
  for (const auto* out : {&listed.out, &listed.err, &json.out}) REQUIRE(out->find("s3cr3t") == std::string::npos);
  for (const char* name : {"old", "s3"}) {
    INFO(name);
    auto fetch = run_kura(d.path(), {"fetch", name}, {{"AWS_ACCESS_KEY_ID", "ak"}, {"AWS_SECRET_ACCESS_KEY", "sk"}});
    REQUIRE(fetch.exit_code != 0);
    REQUIRE(fetch.err.find("***@") != std::string::npos);
    REQUIRE(fetch.err.find("AWS_SECRET_ACCESS_KEY") != std::string::npos);
    REQUIRE(fetch.err.find("s3cr3t") == std::string::npos);
  }
}

TEST_CASE("cli: remote add keeps the AWS_ENDPOINT_URL of an s3 remote and says so unless --endpoint is given", "[remote][cli]") {
  TempDir d;
  make_repo(d);
  auto env_only = run_kura(d.path(), {"remote", "add", "a", "s3://bucket/set"}, {{"AWS_ENDPOINT_URL", "http://127.0.0.1:9000"}});
  INFO(env_only.err);
  REQUIRE(env_only.exit_code == 0);
  REQUIRE(env_only.err.find("'a' uses the endpoint http://127.0.0.1:9000 (from AWS_ENDPOINT_URL)") != std::string::npos);
  // AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL, --endpoint over both, as in the AWS CLI.
  auto s3_var = run_kura(d.path(), {"remote", "add", "b", "s3://bucket/set"},
                         {{"AWS_ENDPOINT_URL", "http://127.0.0.1:9000"}, {"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9001"}});
  REQUIRE(s3_var.err.find("'b' uses the endpoint http://127.0.0.1:9001 (from AWS_ENDPOINT_URL_S3)") != std::string::npos);
  auto given = run_kura(d.path(), {"remote", "add", "c", "s3://bucket/set", "--endpoint", "http://127.0.0.1:9002"},
                        {{"AWS_ENDPOINT_URL", "http://127.0.0.1:9000"}});
  REQUIRE(given.err.find("'c' uses the endpoint http://127.0.0.1:9002 (from --endpoint)") != std::string::npos);
  auto none = run_kura(d.path(), {"remote", "add", "e", "s3://bucket/set"}, {{"AWS_ENDPOINT_URL", ""}, {"AWS_ENDPOINT_URL_S3", ""}});
  REQUIRE(none.exit_code == 0);
  REQUIRE(none.err.find("'e' has no endpoint yet") != std::string::npos);
  // A folder remote has no endpoint: the environment's is not stored for it.
  auto folder = run_kura(d.path(), {"remote", "add", "f", (d / "r.kura").string()}, {{"AWS_ENDPOINT_URL", "http://127.0.0.1:9000"}});
  REQUIRE(folder.exit_code == 0);
  REQUIRE(folder.err.empty());
  auto secret = run_kura(d.path(), {"remote", "add", "s", "s3://bucket/set"}, {{"AWS_ENDPOINT_URL", "http://ak:s3cr3t@127.0.0.1:9000"}});
  REQUIRE(secret.exit_code == 2);
  REQUIRE(secret.err.find("AWS_ENDPOINT_URL 'http://***@127.0.0.1:9000' has a user name or password") != std::string::npos);
  REQUIRE(secret.err.find("s3cr3t") == std::string::npos);
  auto repo = Repo::open(d.path());
  REQUIRE(repo->config("remote.a.endpoint") == "http://127.0.0.1:9000");
  REQUIRE(repo->config("remote.b.endpoint") == "http://127.0.0.1:9001");
  REQUIRE(repo->config("remote.c.endpoint") == "http://127.0.0.1:9002");
  REQUIRE_FALSE(repo->config("remote.e.endpoint"));
  REQUIRE_FALSE(repo->config("remote.f.endpoint"));
  REQUIRE_FALSE(repo->config("remote.s.url"));
  REQUIRE_FALSE(repo->config("remote.s.endpoint"));
}
