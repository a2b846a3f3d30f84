// The HTTP side of kura serve (cpp-httplib's public API only): routes, the
// token, errors as JSON, the repository opened per request.
#include "kura/serve.hpp"

#include <httplib.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>

#include "kura/error.hpp"
#include "kura/image_facts.hpp"
#include "kura/repo.hpp"
#include "serve/api.hpp"
#include "serve/assets.hpp"
#include "serve/params.hpp"
#include "serve/thumbs.hpp"

namespace kura {

namespace fs = std::filesystem;
using serve::json;

namespace {

constexpr size_t kHistoryCommits = 300;
constexpr size_t kDiffRowsPerFile = 300;
constexpr uint64_t kThumbMaxPixels = 100'000'000;

std::string random_token() {
  std::ifstream in("/dev/urandom", std::ios::binary);
  unsigned char raw[16];
  if (!in.read(reinterpret_cast<char*>(raw), sizeof raw))
    fail(ErrorCode::kIo, "cannot read /dev/urandom for the server's token");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) out += hex[c >> 4], out += hex[c & 15];
  return out;
}

// Compares in time independent of where the strings differ.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

std::string cookie_value(const httplib::Request& req, const std::string& name) {
  const std::string cookies = req.get_header_value("Cookie");
  size_t pos = 0;
  while (pos < cookies.size()) {
    size_t end = cookies.find(';', pos);
    if (end == std::string::npos) end = cookies.size();
    std::string item = cookies.substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    if (item.compare(0, name.size() + 1, name + "=") == 0) return item.substr(name.size() + 1);
    pos = end + 1;
  }
  return "";
}

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput: return 400;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kNotARepository: return 404;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kLocked: return 503;
    default: return 500;
  }
}

std::string mime_of(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg: return "image/jpeg";
    case ImageFormat::kPng: return "image/png";
    case ImageFormat::kWebp: return "image/webp";
    case ImageFormat::kGif: return "image/gif";
    case ImageFormat::kBmp: return "image/bmp";
    case ImageFormat::kTiff: return "image/tiff";
    case ImageFormat::kHeif: return "image/heif";
    default: return "";
  }
}

void send_json(httplib::Response& res, int status, const json& j) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

}  // namespace

struct Server::Impl {
  ServeOptions options;
  fs::path root;
  std::string token;
  int port = 0;
  httplib::Server http;
  ServeCounters counters;
  serve::ReportCache reports;
  serve::ThumbCache thumbs{64u << 20};
  std::mutex repo_mutex;  // one request at a time holds the repository

  explicit Impl(const ServeOptions& o) : options(o), thumbs(o.thumbnail_cache_bytes) {}

  // Opens the repository for one request: the lock is taken here and
  // released when the Repo goes; the caller holds repo_mutex.
  std::unique_ptr<Repo> open_repo() {
    OpenOptions o;
    o.access = Access::kReadOnly;
    o.lock_timeout = options.lock_timeout;
    o.command = "kura serve";
    o.notice = [](const std::string& m) { std::cerr << "kura serve: " << m << "\n"; };
    counters.repo_opens++;
    return Repo::open(root, o);
  }

  // Browsers keep cookies by host, not by port: each server names its own
  // ("kura_token_8080"), so two servers on one machine do not log each other out.
  std::string cookie_name() const { return "kura_token_" + std::to_string(port); }

  bool authorized(const httplib::Request& req) const {
    if (same_secret(req.get_header_value("X-Kura-Token"), token)) return true;
    if (same_secret(cookie_value(req, cookie_name()), token)) return true;
    return req.has_param("token") && same_secret(req.get_param_value("token"), token);
  }

  // Runs `fn`, turning a kura::Error into a JSON error answer.
  void guarded(httplib::Response& res, const std::function<void()>& fn) {
    try {
      fn();
    } catch (const Error& e) {
      const int status = http_status(e.code());
      if (status < 500) counters.refused++;
      send_json(res, status, {{"error", e.what()}});
    } catch (const std::bad_alloc&) {
      send_json(res, 500, {{"error", "out of memory while answering the request"}});
    } catch (const std::exception& e) {
      send_json(res, 500, {{"error", std::string("internal error: ") + e.what()}});
    }
  }

  // A GET /api/ endpoint drawn from the repository.
  void api(const std::string& pattern, std::function<json(Repo&, const httplib::Request&)> fn) {
    http.Get(pattern, [this, fn](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        std::lock_guard<std::mutex> lock(repo_mutex);
        auto repo = open_repo();
        send_json(res, 200, fn(*repo, req));
      });
    });
  }

  // A POST endpoint that edits the working folder: refused when read-only,
  // the body validated before the repository is opened, the lock held for
  // this request only.
  void write_api(const std::string& pattern, serve::Curation action) {
    http.Post(pattern, [this, action, pattern](const httplib::Request& req, httplib::Response& res) {
      if (options.read_only) {
        counters.refused++;
        send_json(res, 403, {{"error", "kura serve runs with --read-only: " + pattern +
                                           " is refused and nothing was changed; restart it without "
                                           "--read-only to curate, or use 'kura exclude' / 'kura include'"}});
        return;
      }
      guarded(res, [&] {
        const serve::CurationRequest request = serve::parse_curation(req.body, action);
        std::lock_guard<std::mutex> lock(repo_mutex);
        auto repo = open_repo();
        send_json(res, 200, serve::api_curate(*repo, request, action));
      });
    });
    http.Get(pattern, [this, pattern](const httplib::Request&, httplib::Response& res) {
      counters.refused++;
      res.set_header("Allow", "POST");
      send_json(res, 405, {{"error", "GET " + pattern + " is refused: it changes the working folder, so it is POST only "
                                     "(with the X-Kura-Token header and a JSON body {path, line, reason})"}});
    });
  }

  void routes();
  void serve_object(const httplib::Request& req, httplib::Response& res);
  void serve_thumb(const httplib::Request& req, httplib::Response& res);
  void serve_page(const httplib::Request& req, httplib::Response& res);
};

namespace {
std::string param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : std::string();
}
std::string run_id(const httplib::Request& req, const char* name) {
  const std::string id = param(req, name);
  if (id.size() < 4 || id.size() > 64 || id.find_first_not_of("0123456789abcdef") != std::string::npos)
    fail(ErrorCode::kInvalidInput, std::string("parameter '") + name + "' must be 4 to 64 lower-case hex digits of a run id");
  return id;
}
}  // namespace

void Server::Impl::routes() {
  using serve::check_id;
  using serve::check_number;
  using serve::check_path;
  using serve::check_rev;

  // Everything but the pages' own files needs the token.
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    counters.requests++;
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                   "frame-ancestors 'none'; form-action 'self'");
    const std::string& p = req.path;
    const bool data = p.rfind("/api/", 0) == 0 || p.rfind("/object/", 0) == 0 || p.rfind("/thumb/", 0) == 0;
    if (data && !authorized(req)) {
      counters.refused++;
      send_json(res, 403, {{"error", "missing or wrong token: open the address that 'kura serve' printed "
                                     "(it ends in ?token=...)"}});
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method == "POST" && !same_secret(req.get_header_value("X-Kura-Token"), token)) {
      counters.refused++;
      send_json(res, 403, {{"error", "a write needs the X-Kura-Token header (the page sends it)"}});
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "GET" && req.method != "POST" && req.method != "HEAD") {
      send_json(res, 405, {{"error", "method " + req.method + " is not served; reads are GET, writes POST"}});
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http.Get("/", [this](const httplib::Request& req, httplib::Response& res) { serve_page(req, res); });
  http.Get("/index.html", [this](const httplib::Request& req, httplib::Response& res) { serve_page(req, res); });
  http.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  http.Get(R"(/static/([A-Za-z0-9._-]+))", [](const httplib::Request& req, httplib::Response& res) {
    const serve::Asset* a = serve::find_asset(req.matches[1].str());
    if (!a || a->name == "index.html") {
      send_json(res, 404, {{"error", "no such page file: " + req.matches[1].str()}});
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_content(std::string(a->bytes), std::string(a->mime).c_str());
  });

  http.Get("/api/session", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"token", token}, {"read_only", options.read_only}, {"root", root.string()},
                         {"version", version()}});
  });
  api("/api/history", [this](Repo& repo, const httplib::Request&) {
    return serve::api_history(repo, reports, kHistoryCommits);
  });
  api("/api/tree", [](Repo& repo, const httplib::Request& req) {
    return serve::api_tree(repo, check_rev("rev", param(req, "rev")), check_path("path", param(req, "path"), true));
  });
  api("/api/rows", [this](Repo& repo, const httplib::Request& req) {
    serve::RowsQuery q;
    q.rev = check_rev("rev", param(req, "rev"));
    q.path = check_path("path", param(req, "path"), false);
    q.offset = check_number("offset", param(req, "offset"), 0, 0, uint64_t(1) << 50);
    q.limit = check_number("limit", param(req, "limit"), 50, 1, 500);
    q.q = param(req, "q");
    q.label = param(req, "label");
    return serve::api_rows(repo, reports, q, counters);
  });
  api("/api/findings", [this](Repo& repo, const httplib::Request& req) {
    serve::FindingsQuery q;
    q.rev = check_rev("rev", param(req, "rev"));
    q.rule = param(req, "rule");
    q.severity = param(req, "severity");
    if (!q.severity.empty() && q.severity != "error" && q.severity != "warning" && q.severity != "info")
      fail(ErrorCode::kInvalidInput, "parameter 'severity' must be error, warning or info");
    q.file = param(req, "file");
    if (!q.file.empty()) check_path("file", q.file, false);
    q.excluded = param(req, "excluded");
    if (!q.excluded.empty() && q.excluded != "yes" && q.excluded != "no")
      fail(ErrorCode::kInvalidInput, "parameter 'excluded' must be yes or no");
    q.offset = check_number("offset", param(req, "offset"), 0, 0, uint64_t(1) << 50);
    q.limit = check_number("limit", param(req, "limit"), 60, 1, 1000);
    return serve::api_findings(repo, reports, q);
  });
  api("/api/diff", [](Repo& repo, const httplib::Request& req) {
    return serve::api_diff(repo, check_rev("a", param(req, "a"), "HEAD~1"), check_rev("b", param(req, "b")),
                           kDiffRowsPerFile);
  });
  api("/api/runs", [](Repo& repo, const httplib::Request&) { return serve::api_runs(repo); });
  api("/api/run", [](Repo& repo, const httplib::Request& req) {
    return serve::api_run(repo, run_id(req, "id"));
  });
  api("/api/run-diff", [](Repo& repo, const httplib::Request& req) {
    return serve::api_run_diff(repo, run_id(req, "a"), run_id(req, "b"));
  });
  api("/api/exclusions", [](Repo& repo, const httplib::Request&) { return serve::api_exclusions(repo); });
  write_api("/api/exclude", serve::Curation::kExclude);
  write_api("/api/include", serve::Curation::kInclude);
  api("/api/image", [](Repo& repo, const httplib::Request& req) {
    const ObjectId id = check_id("id", param(req, "id"));
    if (!repo.store().has_object(id))
      fail(ErrorCode::kNotFound, "object " + id.hex() + " is not in this repository");
    return serve::image_json(repo.store(), repo.policy(), id);
  });

  http.Get(R"(/object/(.*))", [this](const httplib::Request& req, httplib::Response& res) { serve_object(req, res); });
  http.Get(R"(/thumb/(.*))", [this](const httplib::Request& req, httplib::Response& res) { serve_thumb(req, res); });
  http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) {
      counters.refused++;
      send_json(res, 404, {{"error", "nothing is served at " + req.path}});
    }
  });
}

void Server::Impl::serve_page(const httplib::Request& req, httplib::Response& res) {
  if (req.has_param("token")) {
    if (!authorized(req)) {
      counters.refused++;
      res.status = 403;
      res.set_content("wrong token: open the address that 'kura serve' printed\n", "text/plain");
      return;
    }
    res.set_header("Set-Cookie", cookie_name() + "=" + token + "; Path=/; HttpOnly; SameSite=Strict");
  }
  const serve::Asset* page = serve::find_asset("index.html");
  res.set_header("Cache-Control", "no-store");
  res.set_content(std::string(page->bytes), std::string(page->mime).c_str());
}

void Server::Impl::serve_object(const httplib::Request& req, httplib::Response& res) {
  guarded(res, [&] {
    const ObjectId id = serve::check_id("id", req.matches[1].str());
    std::optional<std::string> bytes;
    {
      std::lock_guard<std::mutex> lock(repo_mutex);
      bytes = open_repo()->store().get_object(id);
    }
    if (!bytes) fail(ErrorCode::kNotFound, "object " + id.hex() + " is not in this repository");
    const std::string mime = mime_of(sniff_image_format(*bytes));
    if (mime.empty())
      fail(ErrorCode::kInvalidInput, "object " + id.hex() + " is not an image; the web view serves images only");
    if (sha256(*bytes) != id)
      fail(ErrorCode::kCorrupt, "object " + id.hex() + " does not match its id; run 'kura fsck'");
    res.set_header("Cache-Control", "private, max-age=31536000, immutable");
    res.set_content(std::move(*bytes), mime.c_str());
  });
}

void Server::Impl::serve_thumb(const httplib::Request& req, httplib::Response& res) {
  guarded(res, [&] {
    const ObjectId id = serve::check_id("id", req.matches[1].str());
    const int size = static_cast<int>(serve::check_number("w", param(req, "w"), 256, 16, 1024));
    std::shared_ptr<const Thumbnail> thumb = thumbs.get(id, size);
    if (thumb) {
      counters.thumbnail_hits++;
    } else {
      std::optional<std::string> bytes;
      {
        std::lock_guard<std::mutex> lock(repo_mutex);
        bytes = open_repo()->store().get_object(id);
      }
      if (!bytes) fail(ErrorCode::kNotFound, "object " + id.hex() + " is not in this repository");
      if (sha256(*bytes) != id)
        fail(ErrorCode::kCorrupt, "object " + id.hex() + " does not match its id; run 'kura fsck'");
      // Made outside the repository lock: the command line waits for no decode.
      thumb = std::make_shared<const Thumbnail>(make_thumbnail(*bytes, size, kThumbMaxPixels));
      counters.thumbnails_made++;
      thumbs.put(id, size, thumb);
    }
    if (thumb->bytes.empty())
      fail(ErrorCode::kInvalidInput, "object " + id.hex() + " has no thumbnail: " + thumb->error);
    res.set_header("Cache-Control", "private, max-age=31536000, immutable");
    res.set_content(thumb->bytes, thumb->mime.c_str());
  });
}

Server::Server(const ServeOptions& options) : impl_(std::make_unique<Impl>(options)) {
  Impl& s = *impl_;
  {
    OpenOptions o;  // finds the repository (and says so now, not at the first request)
    o.access = Access::kReadOnly;
    o.lock_timeout = options.lock_timeout;
    o.command = "kura serve";
    s.root = Repo::open(options.root, o)->root();
  }
  s.token = options.token.empty() ? random_token() : options.token;
  const unsigned threads = std::max(2u, options.threads);
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.http.set_keep_alive_timeout(2);
  s.http.set_read_timeout(10);
  s.http.set_payload_max_length(1 << 20);
  s.routes();
  if (options.port == 0) {
    s.port = s.http.bind_to_any_port(options.host);
    if (s.port <= 0) fail(ErrorCode::kIo, "cannot listen on " + options.host + " (any port): is the address this machine's?");
  } else {
    if (!s.http.bind_to_port(options.host, options.port))
      fail(ErrorCode::kIo, "cannot listen on " + options.host + ":" + std::to_string(options.port) +
                               " (in use, or not this machine's address); choose another with --port");
    s.port = options.port;
  }
}

Server::~Server() { stop(); }
int Server::port() const { return impl_->port; }
const std::string& Server::token() const { return impl_->token; }
const fs::path& Server::root() const { return impl_->root; }
ServeCounters& Server::counters() { return impl_->counters; }

std::string Server::url() const {
  const std::string& h = impl_->options.host;
  const std::string host = h.find(':') != std::string::npos ? "[" + h + "]" : (h == "0.0.0.0" ? "127.0.0.1" : h);
  return "http://" + host + ":" + std::to_string(impl_->port) + "/?token=" + impl_->token;
}

void Server::run() { impl_->http.listen_after_bind(); }
void Server::stop() { impl_->http.stop(); }

}  // namespace kura
