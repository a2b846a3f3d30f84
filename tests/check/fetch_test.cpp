// kura check --fetch: images named by URL are downloaded from a real HTTP
// server on loopback (a small one in this file) and checked like inline ones.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include "repo/fixture.hpp"

using namespace kura;
using namespace kura::test;

namespace {

std::string check_image(const std::string& name) { return read_file(data_path("") / "../check/data" / name); }

// Serves fixed bodies by path: "/x" -> {content type, body}. "/hang" never
// answers (for the timeout); anything else is a 404.
class HttpServer {
 public:
  explicit HttpServer(std::map<std::string, std::pair<std::string, std::string>> routes) : routes_(std::move(routes)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    REQUIRE(::listen(fd_, 16) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~HttpServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  void serve() {
    std::vector<int> hanging;
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      const size_t sp = request.find(' ');
      const std::string path = request.substr(sp + 1, request.find(' ', sp + 1) - sp - 1);
      if (path == "/hang") {
        hanging.push_back(c);  // closed at the end, after the client gave up
        continue;
      }
      auto it = routes_.find(path);
      std::string response;
      if (it == routes_.end()) {
        response = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      } else {
        response = "HTTP/1.1 200 OK\r\nContent-Type: " + it->second.first +
                   "\r\nContent-Length: " + std::to_string(it->second.second.size()) +
                   "\r\nConnection: close\r\n\r\n" + it->second.second;
      }
      for (size_t off = 0; off < response.size();) {
        ssize_t n = ::write(c, response.data() + off, response.size() - off);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      ::close(c);
    }
    for (int c : hanging) ::close(c);
  }

  std::map<std::string, std::pair<std::string, std::string>> routes_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string url_row(const std::string& url, const std::string& label) {
  return R"({"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":")" +
         url + R"("}}]},{"role":"assistant","content":")" + label + R"("}]})";
}

}  // namespace

TEST_CASE("check --fetch downloads URL images and checks them, and failures name the URL", "[check][fetch]") {
  HttpServer server({
      {"/fish.jpg", {"image/jpeg", check_image("fruits.jpg")}},
      {"/cmyk.jpg", {"image/jpeg", check_image("cmyk.jpg")}},
      {"/labelled-png.png", {"image/png", check_image("building.jpg")}},  // JPEG bytes served as PNG
      {"/truncated.jpg", {"image/jpeg", check_image("truncated.jpg")}},
  });
  RepoFixture f;
  f.write(".kura/checks.json", R"({"rules": {"moderation.face": "off", "jsonl.too_few_examples": "off"}})");
  std::string jsonl;
  jsonl += url_row(server.url("/fish.jpg"), "fruit") + "\n";          // 1: clean
  jsonl += url_row(server.url("/cmyk.jpg"), "cmyk") + "\n";           // 2: bad colour mode
  jsonl += url_row(server.url("/labelled-png.png"), "x") + "\n";      // 3: mime mismatch
  jsonl += url_row(server.url("/truncated.jpg"), "x") + "\n";         // 4: corrupt
  jsonl += url_row(server.url("/nothing-here.jpg"), "x") + "\n";      // 5: 404
  jsonl += url_row("http://127.0.0.1:1/closed.jpg", "x") + "\n";      // 6: refused
  jsonl += url_row(server.url("/hang"), "x") + "\n";                  // 7: timeout
  jsonl += url_row(server.url("/fish.jpg"), "again") + "\n";          // 8: same URL, fetched once
  f.write("train.jsonl", jsonl);
  f.close();  // the kura command below takes the repository lock

  // Offline (no --fetch): a note per URL, nothing downloaded.
  RunResult offline = run_kura(f.dir.path(), {"check", "--json"});
  auto j = nlohmann::json::parse(offline.out);
  size_t notes = 0;
  for (const auto& x : j["findings"])
    if (x["rule"] == "image.remote_url") ++notes;
  REQUIRE(notes == 8);

  auto started = std::chrono::steady_clock::now();
  RunResult online = run_kura(f.dir.path(), {"check", "--fetch", "--fetch-timeout", "2", "--json"});
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  INFO(online.out << online.err);
  REQUIRE(online.exit_code == 1);  // errors found
  REQUIRE(seconds < 15);           // the hanging server cost one timeout, not more
  j = nlohmann::json::parse(online.out);
  std::map<int, std::vector<std::string>> by_line;
  std::map<int, std::string> message_at;
  for (const auto& x : j["findings"]) {
    REQUIRE(x["rule"] != "image.remote_url");
    by_line[x.value("line", 0)].push_back(x["rule"]);
    message_at[x.value("line", 0)] = x["message"];
  }
  auto rules = [&](int line) { return by_line.count(line) ? by_line[line] : std::vector<std::string>{}; };
  REQUIRE(rules(1).empty());
  REQUIRE(rules(2) == std::vector<std::string>{"image.bad_color_mode"});
  REQUIRE(rules(3) == std::vector<std::string>{"image.mime_mismatch"});
  REQUIRE(message_at[3].find("Content-Type says image/png") != std::string::npos);
  REQUIRE(rules(4) == std::vector<std::string>{"image.corrupt"});
  REQUIRE(rules(5) == std::vector<std::string>{"image.fetch_failed"});
  REQUIRE(message_at[5].find("HTTP 404") != std::string::npos);
  REQUIRE(message_at[5].find("/nothing-here.jpg") != std::string::npos);
  REQUIRE(rules(6) == std::vector<std::string>{"image.fetch_failed"});
  REQUIRE(rules(7) == std::vector<std::string>{"image.fetch_failed"});
  REQUIRE(message_at[7].find("2 s") != std::string::npos);
  REQUIRE(j["summary"]["images"] == 4);  // fish once, cmyk, the PNG-labelled JPEG, the truncated one
  // The downloaded images are the served bytes, stored by their SHA-256.
  f.reopen();
  REQUIRE(f.repo->store().has_object(sha256(check_image("fruits.jpg"))));
}
