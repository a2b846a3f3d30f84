// kura-train: the training commands of kura (train, reproduce, export-model,
// predict), in their own program because they load libtorch. `kura train ...`
// runs `kura-train train ...` with the same arguments; both accept the same
// global options and exit with the same codes (docs/cli.md).
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "kura/error.hpp"
#include "kura/train.hpp"

int main(int argc, char** argv) {
  using namespace kura;
  CLI::App app{"kura-train: the training commands of kura (run them as kura train, kura reproduce, ...)"};
  app.name("kura");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("kura ") + KURA_VERSION + ", libtorch " + torch_version());
  cli::Global g;
  app.add_option("-C", g.dir, "Run as if started in this folder");
  app.add_option("--lock-timeout", g.lock_timeout, "Seconds to wait for another kura process (default 30)");
  app.add_flag("-q,--quiet", g.quiet, "No progress bars or informational output");
  cli::Action action;
  cli::add_train_run_commands(app, g, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    if (g.dir != ".") {
      if (::chdir(g.dir.c_str()) != 0) fail_errno("enter the folder given with -C", g.dir);
      g.dir = ".";
    }
    return action ? action() : 0;
  } catch (const Error& e) {
    std::fflush(stdout);
    std::cerr << "kura: " << e.what() << "\n";
    switch (e.code()) {
      case ErrorCode::kNothingToDo:
      case ErrorCode::kCheckFailed: return 1;
      case ErrorCode::kLocked: return 3;
      default: return 2;
    }
  } catch (const std::exception& e) {
    std::cerr << "kura: unexpected error: " << e.what() << "\n";
    return 2;
  }
}
