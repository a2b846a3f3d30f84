// Serve: a local web view of a repository (`kura serve`), for looking at the
// data and curating it: history, a commit's files, a JSONL table's examples
// as chats with their images, the check findings of a commit, the diff of two
// revisions and the training runs. Every page is drawn from a JSON API under
// /api/ (docs/serve.md lists it); images are served by object id, whole
// (/object/<id>) or as thumbnails (/thumb/<id>?w=256), never as base64.
//
//   ServeOptions o;
//   o.root = "/data/cats";
//   Server server(o);                 // binds the port; the URL carries the token
//   std::cout << server.url() << "\n";
//   server.run();                     // until server.stop(), from any thread
//
// Safety: the server listens on 127.0.0.1 unless told otherwise. A random
// per-process token is required on every /api/, /object/ and /thumb/ request
// (header X-Kura-Token, cookie kura_token, or ?token=); opening the page with
// ?token= sets the cookie (HttpOnly, SameSite=Strict), so another web page in
// the same browser can neither read the data nor write. Writes are POST only
// and need the header, which a cross-site page cannot send.
//
// The one write is curation: POST /api/exclude and /api/include edit the
// working folder's kura-exclusions.jsonl through kura::exclude() and
// kura::include(), as `kura exclude` / `kura include` do, holding the
// repository lock for that request only. Nothing is staged or committed:
// `kura status` shows the file modified. With ServeOptions::read_only every
// write answers 403 and changes nothing. Paths, revisions
// and ids are validated (no "..", no absolute path, 64 hex digits for an
// id); files are only ever looked up in a commit's tree and objects in the
// store, so nothing outside the repository is served.
//
// The repository lock is taken for each request and released at its end (a
// read-only open of the store), so the command line works beside the
// server; a request that meets the lock held by a long command waits up to
// lock_timeout and then answers 503 naming the holder.
//
// Thread safety: run() serves requests on a pool of threads; stop() may be
// called from any thread (not from a signal handler). Errors: the
// constructor throws Error(kNotARepository) when `root` is not in a
// repository and Error(kIo) when the address cannot be bound.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace kura {

struct ServeOptions {
  std::filesystem::path root = ".";  // the repository, or any folder inside it
  std::string host = "127.0.0.1";
  int port = 8470;                   // 0: any free port (port() says which)
  bool read_only = false;            // refuse every write (POST /api/exclude, /api/include: 403); /api/session says so
  std::string token;                 // empty: 32 random hex digits
  std::chrono::milliseconds lock_timeout{10000};
  size_t thumbnail_cache_bytes = 64u << 20;  // thumbnails kept in memory, by object id and size
  unsigned threads = 8;              // connections served at once
};

// Work done since the server started, so tests assert work instead of time.
struct ServeCounters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> repo_opens{0};        // one per request that reads the repository
  std::atomic<uint64_t> chunks_read{0};       // row chunks read by /api/rows
  std::atomic<uint64_t> rows_read{0};         // row objects read by /api/rows
  std::atomic<uint64_t> thumbnails_made{0};
  std::atomic<uint64_t> thumbnail_hits{0};    // thumbnails answered from the cache
  std::atomic<uint64_t> refused{0};           // 400, 403 and 404 answers
};

class Server {
 public:
  explicit Server(const ServeOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The port listened on (the chosen one when ServeOptions::port was 0).
  int port() const;
  const std::string& token() const;
  // "http://HOST:PORT/?token=TOKEN": the address to open.
  std::string url() const;
  // The repository's working folder.
  const std::filesystem::path& root() const;
  // Serves until stop(). Returns at once if stop() was called before.
  void run();
  void stop();
  ServeCounters& counters();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kura
