// kura serve: the local web view (src/serve/, docs/serve.md).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "commands.hpp"
#include "kura/serve.hpp"

namespace kura::cli {

namespace {

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// Starts the desktop's browser on `url`, without waiting for it.
void open_browser(const std::string& url) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    ::execlp("xdg-open", "xdg-open", url.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (pid < 0) std::cerr << "kura serve: cannot start a browser (fork failed); open the address yourself\n";
}

}  // namespace

void add_serve_commands(CLI::App& app, Global& g, Action& action) {
  auto* cmd = app.add_subcommand("serve", "Look at the data in a web browser (a local web view)");
  auto o = std::make_shared<ServeOptions>();
  auto open = std::make_shared<bool>(false);
  cmd->add_option("--port", o->port, "Port to listen on (0: any free port)")->capture_default_str();
  cmd->add_option("--host", o->host, "Address to listen on; other than 127.0.0.1 exposes the data to the network")
      ->capture_default_str();
  cmd->add_flag("--open", *open, "Open the page in the desktop's browser");
  cmd->add_flag("--read-only", o->read_only, "Refuse every change: the pages cannot exclude or include examples (POST answers 403)");
  cmd->callback([&g, &action, o, open] {
    action = [&g, o, open] {
      o->root = g.dir;
      o->lock_timeout = std::chrono::milliseconds(static_cast<int64_t>(g.lock_timeout * 1000));
      // SIGINT and SIGTERM are taken by sigwait() below, in this thread only:
      // the server's threads (started after this) inherit the mask.
      sigset_t stop_signals;
      sigemptyset(&stop_signals);
      sigaddset(&stop_signals, SIGINT);
      sigaddset(&stop_signals, SIGTERM);
      pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
      Server server(*o);
      if (!is_loopback(o->host)) {
        std::cerr << "\n"
                  << "  WARNING: kura serve listens on " << o->host << ", not on 127.0.0.1 only.\n"
                  << "  Anyone who can reach this machine and learns the token can read this repository"
                  << (o->read_only ? "" : " and mark examples excluded") << ".\n"
                  << "  The connection is plain HTTP: the token and the data travel unencrypted.\n\n";
      }
      std::cout << "kura serve: " << server.root().string() << (o->read_only ? " (read-only)" : "") << "\n"
                << server.url() << "\n"
                << "Press Ctrl-C to stop." << std::endl;
      std::thread serving([&server] { server.run(); });
      if (*open) open_browser(server.url());
      int sig = 0;
      sigwait(&stop_signals, &sig);
      server.stop();
      serving.join();
      std::cout << "kura serve: stopped (" << (sig == SIGINT ? "interrupt" : "terminate") << ")" << std::endl;
      return 0;
    };
  });
}

}  // namespace kura::cli
