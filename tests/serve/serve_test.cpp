// kura serve's JSON API, images and safety rules, on a real repository: a
// checked commit of a JSONL table with inline photos (two of them grey, so
// the report has image.bad_color_mode findings), served on a free port and
// asked over HTTP like the pages ask.
#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "kura/error.hpp"
#include "kura/image_facts.hpp"
#include "kura/serve.hpp"
#include "kura/train.hpp"
#include "repo/fixture.hpp"

using namespace kura;
using namespace kura::test;
using nlohmann::json;

namespace {

std::string example(int i, const std::string& image, const std::string& mime, const std::string& label) {
  return R"({"messages":[{"role":"system","content":"You label pictures."},{"role":"user","content":[{"type":"text","text":"What is in picture )" +
         std::to_string(i) + R"(?"},{"type":"image_url","image_url":{"url":"data:)" + mime + ";base64," + base64(image) +
         R"("}}]},{"role":"assistant","content":")" + label + R"("}]})";
}

std::string grey_png() { return read_file(data_path("") / ".." / "check" / "data" / "grey.png"); }

// A repository with one checked commit of train.jsonl (12 examples; lines 4
// and 9 hold the grey PNG), then a served view of it.
struct Served {
  RepoFixture f;
  bool read_only;
  std::string commit1;
  std::unique_ptr<Server> server;
  std::thread thread;

  explicit Served(bool read_only = false) : read_only(read_only) {
    f.write(".kura/checks.json", R"({"rules": {"image.bad_color_mode": "warn"}, "detect_faces": false})");
    f.write("train.jsonl", table(""));
    f.write("notes/readme.txt", "hello\n");
    f.add_all();
    CommitOptions o;
    o.message = "first examples";
    commit1 = f.repo->commit(o).id;
    f.close();
    start();
  }
  ~Served() { stop(); }

  static std::string table(const std::string& changed_label) {
    std::string out;
    for (int i = 1; i <= 12; ++i) {
      const bool grey = i == 4 || i == 9;
      const std::string label = i == 2 && !changed_label.empty() ? changed_label : (i % 2 ? "fish" : "linux");
      out += example(i, grey ? grey_png() : data_file(i % 2 ? "fish.jpg" : "linux.jpg"), grey ? "image/png" : "image/jpeg",
                     label) + "\n";
    }
    return out;
  }

  void start() {
    ServeOptions o;
    o.root = f.dir.path();
    o.port = 0;
    o.token = "testtoken0123456789";
    o.read_only = read_only;
    o.lock_timeout = std::chrono::milliseconds(5000);
    server = std::make_unique<Server>(o);
    thread = std::thread([this] { server->run(); });
  }
  void stop() {
    if (!server) return;
    server->stop();
    thread.join();
    server.reset();
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server->port());
    c.set_read_timeout(60);
    return c;
  }
  httplib::Result get(const std::string& path, bool token = true) const {
    httplib::Client c = client();
    httplib::Headers h;
    if (token) h.emplace("X-Kura-Token", server->token());
    return c.Get(path.c_str(), h);
  }
  // A write as the page sends it: POST, JSON body, the token header.
  httplib::Result post(const std::string& path, const std::string& body, bool token = true) const {
    httplib::Client c = client();
    httplib::Headers h;
    if (token) h.emplace("X-Kura-Token", server->token());
    return c.Post(path.c_str(), h, body, "application/json");
  }
  json post_json(const std::string& path, const json& body, int want = 200) const {
    auto r = post(path, body.dump());
    REQUIRE(r);
    INFO("POST " << path << " " << body.dump() << " -> " << r->status << " " << r->body);
    REQUIRE(r->status == want);
    return json::parse(r->body);
  }
  fs::path exclusions() const { return f.dir / "kura-exclusions.jsonl"; }
  json get_json(const std::string& path, int want = 200) const {
    auto r = get(path);
    REQUIRE(r);
    INFO(path << " -> " << r->status << " " << r->body);
    REQUIRE(r->status == want);
    return json::parse(r->body);
  }
};

}  // namespace

TEST_CASE("serve lists history with branches, messages and check summaries", "[serve]") {
  Served s;
  json h = s.get_json("/api/history");
  REQUIRE(h["commits"].size() == 1);
  const json& c = h["commits"][0];
  CHECK(c["id"] == s.commit1);
  CHECK(c["message"].get<std::string>().rfind("first examples", 0) == 0);
  CHECK(c["author"] == "Test Author");
  CHECK(c["checks"]["warnings"].get<int>() >= 2);
  CHECK(c["checks"]["errors"] == 0);
  CHECK(h["branches"][0]["name"] == "main");
  CHECK(h["current"] == "main");
}

TEST_CASE("serve lists a commit's folder with kinds, sizes and rows", "[serve]") {
  Served s;
  json t = s.get_json("/api/tree?rev=main");
  REQUIRE(t["entries"].size() == 2);
  CHECK(t["entries"][0]["kind"] == "folder");
  CHECK(t["entries"][0]["name"] == "notes");
  CHECK(t["entries"][1]["name"] == "train.jsonl");
  CHECK(t["entries"][1]["kind"] == "table");
  CHECK(t["entries"][1]["rows"] == 12);
  json sub = s.get_json("/api/tree?path=notes");
  CHECK(sub["entries"][0]["size"] == 6);
}

TEST_CASE("serve pages a table as chats with images as object ids and facts, never base64", "[serve]") {
  Served s;
  auto raw = s.get("/api/rows?path=train.jsonl&limit=5");
  REQUIRE(raw);
  REQUIRE(raw->status == 200);
  CHECK(raw->body.find(base64(data_file("fish.jpg")).substr(0, 40)) == std::string::npos);
  json r = json::parse(raw->body);
  REQUIRE(r["examples"].size() == 5);
  CHECK(r["rows"] == 12);
  CHECK(r["next_offset"] == 5);
  CHECK(s.server->counters().chunks_read == 1);
  CHECK(s.server->counters().rows_read == 5);
  const json& ex = r["examples"][0];
  CHECK(ex["line"] == 1);
  CHECK(ex["label"] == "fish");
  REQUIRE(ex["messages"].size() == 3);
  CHECK(ex["messages"][0]["role"] == "system");
  const json& img = ex["messages"][1]["parts"][1];
  CHECK(img["type"] == "image");
  CHECK(img["object"] == sha256_hex(data_file("fish.jpg")));
  CHECK(img["known"] == true);
  CHECK(img["format"] == "jpeg");
  CHECK(img["width"].get<int>() > 0);
  const json& grey = r["examples"][3];  // line 4
  CHECK(grey["findings"][0]["rule"] == "image.bad_color_mode");

  json page2 = s.get_json("/api/rows?path=train.jsonl&offset=10");
  CHECK(page2["examples"].size() == 2);
  CHECK(page2["examples"][0]["line"] == 11);
  CHECK(page2["next_offset"].is_null());

  json by_label = s.get_json("/api/rows?path=train.jsonl&label=linux");
  CHECK(by_label["examples"].size() == 6);
  json text = s.get_json("/api/rows?path=train.jsonl&q=PICTURE%207%3F");
  REQUIRE(text["examples"].size() == 1);
  CHECK(text["examples"][0]["line"] == 7);
}

TEST_CASE("serve groups a commit's stored findings by rule and filters them", "[serve]") {
  Served s;
  json r = s.get_json("/api/findings?rev=HEAD");
  REQUIRE(r["stored"] == true);
  bool found = false;
  for (const auto& g : r["rules"])
    if (g["rule"] == "image.bad_color_mode") {
      found = true;
      CHECK(g["count"] == 2);
      CHECK(g["warnings"] == 2);
    }
  CHECK(found);
  json only = s.get_json("/api/findings?rule=image.bad_color_mode");
  REQUIRE(only["findings"].size() == 2);
  CHECK(only["matching"] == 2);
  CHECK(only["findings"][0]["path"] == "train.jsonl");
  CHECK(only["findings"][0]["line"] == 4);
  CHECK(only["findings"][0]["object"] == sha256_hex(grey_png()));
  json errors = s.get_json("/api/findings?severity=error");
  CHECK(errors["findings"].empty());
}

TEST_CASE("serve gives an image's bytes with its type, and a thumbnail made once", "[serve]") {
  Served s;
  const std::string id = sha256_hex(data_file("fish.jpg"));
  auto obj = s.get("/object/" + id);
  REQUIRE(obj);
  REQUIRE(obj->status == 200);
  CHECK(obj->get_header_value("Content-Type") == "image/jpeg");
  CHECK(obj->body == data_file("fish.jpg"));
  auto png = s.get("/object/" + sha256_hex(grey_png()));
  CHECK(png->get_header_value("Content-Type") == "image/png");

  auto t1 = s.get("/thumb/" + id + "?w=64");
  REQUIRE(t1);
  REQUIRE(t1->status == 200);
  CHECK(t1->get_header_value("Content-Type") == "image/jpeg");
  ImageFacts facts = inspect_image(t1->body);
  CHECK(facts.decodes);
  CHECK(std::max(facts.width, facts.height) == 64);
  auto t2 = s.get("/thumb/" + id + "?w=64");
  CHECK(t2->body == t1->body);
  CHECK(s.server->counters().thumbnails_made == 1);
  CHECK(s.server->counters().thumbnail_hits == 1);
}

TEST_CASE("serve refuses '..', bad ids and unknown objects, naming the parameter", "[serve]") {
  Served s;
  json up = s.get_json("/api/tree?path=../etc", 400);
  CHECK(up["error"].get<std::string>().find("'..'") != std::string::npos);
  s.get_json("/api/rows?path=notes/../train.jsonl", 400);
  s.get_json("/api/rows?path=/etc/passwd", 400);
  s.get_json("/api/tree?rev=main..HEAD", 400);
  json bad = s.get_json("/object/..%2F..%2Fetc%2Fpasswd", 400);
  CHECK(bad["error"].get<std::string>().find("64 hex digits") != std::string::npos);
  s.get_json("/thumb/not-an-id", 400);
  json missing = s.get_json("/object/" + std::string(64, '0'), 404);
  CHECK(missing["error"].get<std::string>().find("not in this repository") != std::string::npos);
  s.get_json("/api/rows?path=missing.jsonl", 404);
  s.get_json("/api/rows?path=notes/readme.txt", 400);
  s.get_json("/api/rows?path=train.jsonl&limit=100000", 400);
  s.get_json("/api/history?rev=nosuchbranch", 200);  // rev is not a history parameter
  s.get_json("/api/tree?rev=nosuchbranch", 404);
  auto stat = s.get("/static/..%2Fserver.cpp");
  CHECK(stat->status == 404);
}

TEST_CASE("serve needs the token on data, and the page's first load sets it as a cookie", "[serve]") {
  Served s;
  CHECK(s.get("/api/history", false)->status == 403);
  CHECK(s.get("/object/" + sha256_hex(data_file("fish.jpg")), false)->status == 403);
  CHECK(s.get("/api/history?token=wrong", false)->status == 403);
  auto page = s.get("/", false);
  REQUIRE(page->status == 200);
  CHECK(page->body.find("<title>kura</title>") != std::string::npos);
  CHECK(page->get_header_value("Set-Cookie").empty());
  auto first = s.get("/?token=" + s.server->token(), false);
  const std::string cookie = first->get_header_value("Set-Cookie");
  const std::string name = "kura_token_" + std::to_string(s.server->port());
  CHECK(cookie.find(name + "=" + s.server->token()) == 0);
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  CHECK(cookie.find("SameSite=Strict") != std::string::npos);
  httplib::Client c = s.client();
  auto with_cookie = c.Get("/api/history", {{"Cookie", name + "=" + s.server->token()}});
  CHECK(with_cookie->status == 200);
  // Another server's cookie on the same host (browsers share cookies across ports) is not this one's.
  auto other_port = c.Get("/api/history", {{"Cookie", "kura_token_1=" + s.server->token()}});
  CHECK(other_port->status == 403);
  CHECK(s.get("/?token=wrong", false)->status == 403);
  CHECK(s.get("/static/chart.min.js", false)->status == 200);
}

TEST_CASE("serve holds no repository lock between requests, so the library commits beside it", "[serve]") {
  Served s;
  s.get_json("/api/history");
  {
    OpenOptions o;
    o.lock_timeout = std::chrono::milliseconds(0);  // fails at once if the server held the lock
    auto repo = Repo::open(s.f.dir.path(), o);
    write_file(s.f.dir / "train.jsonl", Served::table("a penguin"));
    let_clock_tick();
    repo->add({s.f.dir.path().string()});
    CommitOptions c;
    c.message = "relabel line 2";
    repo->commit(c);
  }
  json h = s.get_json("/api/history");
  REQUIRE(h["commits"].size() == 2);
  CHECK(h["commits"][0]["message"].get<std::string>().rfind("relabel", 0) == 0);
  json d = s.get_json("/api/diff?a=HEAD~1&b=HEAD");
  REQUIRE(d["files"].size() == 1);
  CHECK(d["files"][0]["path"] == "train.jsonl");
  REQUIRE(d["files"][0]["rows"].size() == 1);
  CHECK(d["files"][0]["rows"][0]["kind"] == "modified");
  CHECK(d["files"][0]["rows"][0]["new_line"] == 2);
}

namespace {

// `kura status --json` and `kura check --json` of the working folder, as a user runs them.
json kura_json(const fs::path& dir, const std::vector<std::string>& args) {
  RunResult r = run_kura(dir, args);
  INFO("kura " << args[0] << ": " << r.exit_code << " " << r.err);
  REQUIRE((r.exit_code == 0 || r.exit_code == 1));
  return json::parse(r.out);
}

bool listed(const json& changes, const std::string& path, const std::string& change) {
  for (const auto& c : changes)
    if (c["path"] == path && c["change"] == change) return true;
  return false;
}

}  // namespace

TEST_CASE("serve excludes an example by POST and kura status and kura check see it until it is included", "[serve]") {
  Served s;
  {  // an empty exclusion record committed, so the page's edit shows as a modification
    OpenOptions o;
    o.lock_timeout = std::chrono::milliseconds(0);
    auto repo = Repo::open(s.f.dir.path(), o);
    write_file(s.exclusions(), "");
    let_clock_tick();
    repo->add({s.f.dir.path().string()});
    CommitOptions c;
    c.message = "an empty exclusion record";
    repo->commit(c);
  }
  CHECK(kura_json(s.f.dir.path(), {"status", "--json"})["clean"] == true);
  json rows = s.get_json("/api/rows?path=train.jsonl&limit=5");
  const json& line4 = rows["examples"][3];
  REQUIRE(line4["line"] == 4);
  CHECK(line4["exclusion"].is_null());

  json r = s.post_json("/api/exclude", {{"path", "train.jsonl"}, {"line", 4}, {"row", line4["row"]}, {"reason", "a grey scan"}});
  CHECK(r["changed"] == 1);
  CHECK(r["excluded"] == true);
  REQUIRE(r["changes"].size() == 1);
  CHECK(r["changes"][0]["action"] == "excluded");
  CHECK(r["changes"][0]["row"] == line4["row"]);
  CHECK(read_file(s.exclusions()).find("a grey scan") != std::string::npos);

  json st = kura_json(s.f.dir.path(), {"status", "--json"});
  CHECK(listed(st["unstaged"], "kura-exclusions.jsonl", "modified"));
  CHECK(st["staged"].empty());
  json check = kura_json(s.f.dir.path(), {"check", "--json"});
  bool excluded_line4 = false;
  for (const auto& f : check["findings"])
    if (f["rule"] == "curation.excluded" && f["path"] == "train.jsonl" && f["line"] == 4) excluded_line4 = true;
  CHECK(excluded_line4);
  CHECK(check["summary"]["excluded"].get<int>() >= 1);

  // The pages see the working folder's state; excluding again changes nothing.
  json again = s.get_json("/api/rows?path=train.jsonl&limit=5");
  CHECK(again["examples"][3]["exclusion"]["reason"] == "a grey scan");
  CHECK(again["examples"][2]["exclusion"].is_null());
  json gallery = s.get_json("/api/findings?rule=image.bad_color_mode");
  CHECK(gallery["findings"][0]["row"] == line4["row"]);
  CHECK(gallery["findings"][0]["exclusion"]["reason"] == "a grey scan");
  CHECK(gallery["findings"][1]["exclusion"].is_null());
  json listing = s.get_json("/api/exclusions");
  REQUIRE(listing["exclusions"].size() == 1);
  CHECK(listing["exclusions"][0]["lines_now"] == json::array({4}));
  json twice = s.post_json("/api/exclude", {{"path", "train.jsonl"}, {"line", 4}, {"reason", "again"}});
  CHECK(twice["changed"] == 0);
  CHECK(twice["changes"][0]["action"] == "already excluded");

  json back = s.post_json("/api/include", {{"path", "train.jsonl"}, {"line", 4}, {"row", line4["row"]}});
  CHECK(back["changed"] == 1);
  CHECK(back["excluded"] == false);
  CHECK(back["changes"][0]["action"] == "included");
  CHECK(kura_json(s.f.dir.path(), {"status", "--json"})["clean"] == true);
  CHECK(s.get_json("/api/rows?path=train.jsonl&limit=5")["examples"][3]["exclusion"].is_null());
}

TEST_CASE("serve excludes an image file by path and includes it again", "[serve]") {
  Served s;
  write_file(s.f.dir / "photos/cat.jpg", data_file("fish.jpg"));
  json r = s.post_json("/api/exclude", {{"path", "photos/cat.jpg"}, {"reason", "not a cat"}});
  CHECK(r["changes"][0]["action"] == "excluded");
  CHECK(r["changes"][0]["line"] == 0);
  CHECK(list_exclusions(s.f.dir.path()).size() == 1);
  json back = s.post_json("/api/include", {{"path", "photos/cat.jpg"}});
  CHECK(back["changes"][0]["action"] == "included");
  CHECK(list_exclusions(s.f.dir.path()).empty());
}

TEST_CASE("serve refuses bad curation requests with the status and message of each", "[serve]") {
  Served s;
  const std::string good = json{{"path", "train.jsonl"}, {"line", 2}, {"reason", "blurry"}}.dump();
  auto message = [](const httplib::Result& r) { return json::parse(r->body)["error"].get<std::string>(); };

  auto no_token = s.post("/api/exclude", good, false);
  REQUIRE(no_token);
  CHECK(no_token->status == 403);
  httplib::Client c = s.client();
  auto cookie_only = c.Post("/api/exclude", {{"Cookie", "kura_token_" + std::to_string(s.server->port()) + "=" + s.server->token()}}, good, "application/json");
  CHECK(cookie_only->status == 403);
  CHECK(message(cookie_only).find("X-Kura-Token header") != std::string::npos);
  auto wrong = c.Post("/api/exclude", {{"X-Kura-Token", "wrong"}}, good, "application/json");
  CHECK(wrong->status == 403);

  auto get = s.get("/api/exclude?path=train.jsonl&line=2&reason=x");
  CHECK(get->status == 405);
  CHECK(get->get_header_value("Allow") == "POST");
  CHECK(message(get).find("POST only") != std::string::npos);
  CHECK(s.get("/api/include")->status == 405);

  json up = s.post_json("/api/exclude", {{"path", "../outside.jsonl"}, {"line", 1}, {"reason", "x"}}, 400);
  CHECK(up["error"].get<std::string>().find("'..'") != std::string::npos);
  s.post_json("/api/exclude", {{"path", "/etc/passwd"}, {"reason", "x"}}, 400);
  json kura_dir = s.post_json("/api/exclude", {{"path", ".kura/checks.json"}, {"reason", "x"}}, 400);
  CHECK(kura_dir["error"].get<std::string>().find(".kura/") != std::string::npos);
  json line0 = s.post_json("/api/exclude", {{"path", "train.jsonl"}, {"line", 0}, {"reason", "x"}}, 400);
  CHECK(line0["error"].get<std::string>().find("from 1") != std::string::npos);
  s.post_json("/api/exclude", {{"path", "train.jsonl"}, {"line", -3}, {"reason", "x"}}, 400);
  s.post_json("/api/exclude", {{"path", "train.jsonl"}, {"line", "2"}, {"reason", "x"}}, 400);
  json empty = s.post_json("/api/exclude", {{"path", "train.jsonl"}, {"line", 2}, {"reason", "  "}}, 400);
  CHECK(empty["error"].get<std::string>().find("'reason' is required") != std::string::npos);
  s.post_json("/api/exclude", {{"path", "train.jsonl"}, {"line", 2}}, 400);
  json unknown = s.post_json("/api/exclude", {{"path", "missing.jsonl"}, {"line", 1}, {"reason", "x"}}, 404);
  CHECK(unknown["error"].get<std::string>().find("does not exist in the working folder") != std::string::npos);
  s.post_json("/api/include", {{"path", "missing.jsonl"}, {"line", 1}}, 404);
  json past = s.post_json("/api/exclude", {{"path", "train.jsonl"}, {"line", 13}, {"reason", "x"}}, 400);
  CHECK(past["error"].get<std::string>().find("has 12 lines") != std::string::npos);
  json whole = s.post_json("/api/exclude", {{"path", "train.jsonl"}, {"reason", "x"}}, 400);
  CHECK(whole["error"].get<std::string>().find("name the lines") != std::string::npos);
  json moved = s.post_json("/api/exclude",
                           {{"path", "train.jsonl"}, {"line", 2}, {"row", std::string(64, 'a')}, {"reason", "x"}}, 409);
  CHECK(moved["error"].get<std::string>().find("the file changed since") != std::string::npos);
  auto not_json = s.post("/api/exclude", "path=train.jsonl");
  CHECK(not_json->status == 400);
  CHECK(message(not_json).find("not JSON") != std::string::npos);

  CHECK_FALSE(fs::exists(s.exclusions()));  // nothing above wrote the record
}

TEST_CASE("serve with read-only refuses every write with 403 and changes nothing", "[serve]") {
  Served s(true);
  CHECK(s.get_json("/api/session")["read_only"] == true);
  json r = s.post_json("/api/exclude", {{"path", "train.jsonl"}, {"line", 2}, {"reason", "blurry"}}, 403);
  CHECK(r["error"].get<std::string>().find("--read-only") != std::string::npos);
  s.post_json("/api/include", {{"path", "train.jsonl"}, {"line", 2}}, 403);
  CHECK_FALSE(fs::exists(s.exclusions()));
  CHECK(kura_json(s.f.dir.path(), {"status", "--json"})["clean"] == true);
  CHECK(s.get_json("/api/rows?path=train.jsonl&limit=2")["examples"][1]["exclusion"].is_null());
}

TEST_CASE("serve compares two runs as kura run diff does: spec and data and metrics", "[serve]") {
  Served s;
  std::string a, b;
  {
    OpenOptions o;
    o.lock_timeout = std::chrono::milliseconds(0);
    auto repo = Repo::open(s.f.dir.path(), o);
    ExternalRun run;
    run.commit = s.commit1;
    run.model = "resnet18";
    run.settings = {{"lr", 0.01}, {"batch", 8}};  // no "epochs", as a script may record it
    run.files = {"train.jsonl"};
    run.weights = "weights of run a";
    run.metrics = {{"epochs", json::array({{{"epoch", 1}, {"train_loss", 1.5}, {"top5", 0.4}},
                                           {{"epoch", 2}, {"train_loss", 0.9}, {"top5", 0.6}}})}};
    a = record_external_run(*repo, run).id;
    write_file(s.f.dir / "train.jsonl", Served::table("a penguin"));
    let_clock_tick();
    repo->add({s.f.dir.path().string()});
    CommitOptions c;
    c.message = "relabel line 2";
    run.commit = repo->commit(c).id;
    run.settings["lr"] = 0.001;
    run.weights = "weights of run b";
    run.metrics["epochs"][1]["train_loss"] = 0.7;
    b = record_external_run(*repo, run).id;
  }
  json d = s.get_json("/api/run-diff?a=" + a + "&b=" + b.substr(0, 8));
  CHECK(d["a"] == a);
  CHECK(d["b"] == b);
  bool lr = false, commit = false;
  for (const auto& x : d["spec"]) {
    if (x["key"] == "settings.lr") lr = x["a"] == 0.01 && x["b"] == 0.001;
    if (x["key"] == "commit") commit = x["a"] == s.commit1;
  }
  CHECK(lr);
  CHECK(commit);
  REQUIRE(d["data"].size() == 1);
  CHECK(d["data"][0] == json({{"path", "train.jsonl"}, {"change", "modified"}}));
  bool loss = false;
  for (const auto& x : d["metrics"])
    if (x["key"] == "train_loss") loss = x["a"] == 0.9 && x["b"] == 0.7;
  CHECK(loss);
  REQUIRE(d["runs"].size() == 2);
  CHECK(d["runs"][1]["metrics"]["epochs"][1]["train_loss"] == 0.7);

  // The command line prints the same comparison (one function in the library).
  RunResult cli = run_kura(s.f.dir.path(), {"run", "diff", a, b, "--json"});
  REQUIRE(cli.exit_code == 0);
  json printed = json::parse(cli.out);
  for (const char* k : {"a", "b", "spec", "data", "metrics"}) CHECK(printed[k] == d[k]);

  s.get_json("/api/run-diff?a=" + a + "&b=0000", 404);
  s.get_json("/api/run-diff?a=" + a + "&b=../x", 400);
}
