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
