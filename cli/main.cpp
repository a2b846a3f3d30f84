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
  cli::add_global_options(app, g);
  cli::Action action;
  cli::add_repo_commands(app, g, action);
  cli::add_history_commands(app, g, action);
  cli::add_maint_commands(app, g, action);
  cli::add_check_commands(app, g, action);
  cli::add_exclude_commands(app, g, action);
  cli::add_fix_commands(app, g, action);
  cli::add_diff_commands(app, g, action);
  cli::add_remote_commands(app, g, action);
  cli::add_merge_commands(app, g, action);
  cli::add_export_commands(app, g, action);
  cli::add_train_commands(app, g, action);
  cli::add_serve_commands(app, g, action);
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
  return cli::run_command_line(app, g, action, argc, argv);
}
