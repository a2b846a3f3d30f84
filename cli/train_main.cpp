// kura-train: the training commands of kura (train, reproduce, export-model,
// predict), in their own program because they load libtorch. `kura train ...`
// runs `kura-train train ...` with the same arguments; both accept the same
// global options and exit with the same codes (docs/cli.md).
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "kura/error.hpp"
#include "kura/train.hpp"

int main(int argc, char** argv) {
  using namespace kura;
  // Training allocates and frees tensors of a few MB every batch. With
  // glibc's defaults here each went back to the kernel (mmap/munmap, trim)
  // and came back as page faults: 750,000 in two epochs of bench/train.sh,
  // half the process's CPU time. Keeping them in the heap more than doubled
  // the images per second (docs/train.md, Speed).
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
  CLI::App app{"kura-train: the training commands of kura (run them as kura train, kura reproduce, ...)"};
  app.name("kura");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("kura ") + KURA_VERSION + ", libtorch " + torch_version());
  cli::Global g;
  cli::add_global_options(app, g);
  cli::Action action;
  cli::add_train_run_commands(app, g, action);
  cli::add_eval_command(app, g, action);
  return cli::run_command_line(app, g, action, argc, argv);
}
