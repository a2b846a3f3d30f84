// kura: dataset version control for vision fine-tuning data.
// Exit status: 0 success; 1 completed with a negative answer (fsck found
// problems, nothing to commit); 2 error; 3 repository locked (docs/cli.md).
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "kura/error.hpp"

int main(int argc, char** argv) {
  using namespace kura;
  // The store's write buffers are freed and allocated again at every flush:
  // keep them in the heap instead of fresh mmaps, whose pages the kernel
  // zeroes each time (a tenth of `kura add`'s time on 1 GB of images).
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  CLI::App app{"kura: version control and curation for vision fine-tuning data"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("kura ") + KURA_VERSION);
  cli::Global g;
  app.add_option("-C", g.dir, "Run as if started in this folder");
  app.add_option("--lock-timeout", g.lock_timeout, "Seconds to wait for another kura process (default 30)");
  app.add_flag("-q,--quiet", g.quiet, "No progress bars or informational output");
  cli::Action action;
  cli::add_repo_commands(app, g, action);
  cli::add_history_commands(app, g, action);
  cli::add_maint_commands(app, g, action);
  cli::add_check_commands(app, g, action);
  cli::add_diff_commands(app, g, action);
  cli::add_remote_commands(app, g, action);
  cli::add_train_commands(app, g, action);
  // Everything after "--" is a path, never a revision: split it off before
  // CLI11, which would otherwise fill the first positional slot with it.
  for (int i = argc - 1; i >= 1; --i) {
    std::string a = argv[i];
    if (a == "--") {
      g.paths.assign(argv + i + 1, argv + argc);
      argc = i;
      break;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    // -C DIR: paths on the command line are then relative to DIR, as in git.
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
