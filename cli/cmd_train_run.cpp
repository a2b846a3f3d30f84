// kura-train: train, reproduce, export-model, predict (the commands that
// need libtorch; the kura command hands them to this program).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <iostream>
#include <optional>
#include <thread>

#include "commands.hpp"
#include "train_output.hpp"

namespace kura::cli {

namespace {

std::atomic<bool> g_stop{false};

void on_interrupt(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

// libtorch reads its kernel choice and OpenMP its wait policy when the
// process starts: when they are not already set, start again with them set.
void pin_environment(CpuPin pin = CpuPin::kAvx2) {
  if (environment_pinned(pin)) return;
  for (const auto& [name, value] : pinned_environment(pin)) ::setenv(name.c_str(), value.c_str(), 1);
  exec_program("/proc/self/exe", own_arguments(), "restart kura with the pinned CPU settings");
}

// Likewise for a recorded run's own settings (a --cpu native run's).
void pin_environment_of(const nlohmann::json& spec) {
  bool same = true;
  const auto wanted = run_environment(spec);
  for (const auto& [name, value] : wanted) {
    const char* set = std::getenv(name.c_str());
    same = same && set && value == set;
  }
  if (same) return;
  for (const auto& [name, value] : wanted) ::setenv(name.c_str(), value.c_str(), 1);
  exec_program("/proc/self/exe", own_arguments(), "restart kura with the run's CPU settings");
}

std::string clock_time(double seconds) {
  int s = static_cast<int>(std::lround(seconds));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%d:%02d", s / 60, s % 60);
  return buf;
}

// Runs this program's command line `args` as `world` processes (--nproc).
int launch_here(const std::vector<std::string>& args, unsigned world) {
  return launch_local("/proc/self/exe", args, world, [](unsigned rank, int code) {
    std::cerr << "kura: training process " << rank << " failed (exit " << code << "); stopping the others\n";
  });
}

// This program's command line without "--nproc N" (or "--nproc=N").
std::vector<std::string> arguments_without_nproc() {
  std::vector<std::string> out;
  auto args = own_arguments();
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;
      continue;
    }
    if (args[i].rfind("--nproc=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

// The options of a data-parallel run.
struct Parallel {
  unsigned nproc = 1;
  std::string rendezvous;
  unsigned rank = 0, world = 1;
  bool rank_given = false, world_given = false;

  void add_to(CLI::App* cmd, bool with_nproc) {
    if (with_nproc)
      cmd->add_option("--nproc", nproc, "Train data parallel in N processes of this machine (c10d Gloo)");
    cmd->add_option("--rendezvous", rendezvous,
                    "tcp://HOST:PORT where the processes of a data-parallel run meet (process 0 listens there)");
    cmd->add_option("--rank", rank, "This process's number in a data-parallel run, 0 to --world - 1")
        ->each([this](const std::string&) { rank_given = true; });
    cmd->add_option("--world", world, "The number of processes of a data-parallel run")
        ->each([this](const std::string&) { world_given = true; });
  }
  // Error(kInvalidInput) for an incomplete or contradictory set.
  void validate() const {
    if (nproc < 1) fail(ErrorCode::kInvalidInput, "--nproc must be at least 1");
    if (nproc > 1 && (!rendezvous.empty() || rank_given || world_given))
      fail(ErrorCode::kInvalidInput, "--nproc starts the processes itself; --rendezvous, --rank and --world are for starting each one by hand");
    if (!rendezvous.empty() && (!rank_given || !world_given))
      fail(ErrorCode::kInvalidInput, "--rendezvous needs --rank and --world");
    if (rendezvous.empty() && (rank_given || world_given))
      fail(ErrorCode::kInvalidInput, "--rank and --world need --rendezvous tcp://HOST:PORT");
  }
  // The cluster this process joins, or null for a one-process run.
  std::unique_ptr<Cluster> join() const {
    if (rendezvous.empty()) return nullptr;
    Rendezvous r = parse_rendezvous(rendezvous, rank, world);
    if (world == 1) return nullptr;
    return std::make_unique<Cluster>(r);
  }
};

// In a data-parallel run process 0 prepares the run with the repository
// open for writing; the others rebuild it from its spec, read-only.
PreparedRun prepare_parallel(const Global& g, Cluster& cluster, const std::string& command, bool json,
                             const std::function<PreparedRun(Repo&)>& prepare) {
  return prepare_on_cluster(
      cluster,
      [&] {
        auto repo = open_repo(g, command, json);
        return prepare(*repo);
      },
      [&](const nlohmann::json& spec) {
        auto repo = open_repo(g, command, true, Mode::kRead);
        return prepare_from_spec(*repo, spec);
      });
}

// The fine-tuning options of kura train, as settings (docs/train.md).
struct FineTune {
  std::string adapter, targets;
  std::optional<int> rank;
  std::optional<double> alpha;
  bool freeze_base = false;
  void apply(nlohmann::json& settings) const {
    if (!adapter.empty() && adapter != "lora")
      fail(ErrorCode::kInvalidInput, "--adapter takes lora, not '" + adapter + "' (--freeze-base trains the head alone)");
    if (!adapter.empty() && freeze_base)
      fail(ErrorCode::kInvalidInput, "--adapter lora and --freeze-base are two ways to fine-tune; give one");
    if (adapter.empty() && (rank || alpha || !targets.empty()))
      fail(ErrorCode::kInvalidInput, "--lora-rank, --lora-alpha and --lora-targets need --adapter lora");
    if (freeze_base) settings["adapter"] = "head";
    if (adapter.empty()) return;
    settings["adapter"] = "lora";
    if (rank) settings["lora_rank"] = *rank;
    if (alpha) settings["lora_alpha"] = *alpha;
    if (!targets.empty()) settings["lora_targets"] = targets;
  }
};

// Trains `run` with the repository closed, Ctrl-C stopping it cleanly.
RunOutcome train_with_output(const PreparedRun& run, bool json, bool quiet, Cluster* cluster = nullptr) {
  const bool bar = !json && !quiet && ::isatty(STDERR_FILENO);
  const int epochs = run.spec().at("settings").at("epochs");
  TrainCallbacks cb;
  g_stop.store(false);
  cb.stop = &g_stop;
  if (bar)
    cb.progress = [](const TrainProgress& p) {
      const int width = 24;
      int filled = p.images_total ? static_cast<int>(width * p.images / p.images_total) : 0;
      std::fprintf(stderr, "\repoch %d/%d [%s%s] %llu/%llu  loss %.4f  accuracy %.4f  %.0f images/s  %s left\033[K",
                   p.epoch, p.epochs, std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                   static_cast<unsigned long long>(p.images), static_cast<unsigned long long>(p.images_total), p.loss,
                   p.accuracy, p.images_per_second, clock_time(p.seconds_left).c_str());
    };
  cb.epoch_done = [bar, json, quiet, epochs](const EpochMetrics& m) {
    if (bar) std::fprintf(stderr, "\r\033[K");
    if (!json && !quiet) std::cout << epoch_line(m, epochs) << std::endl;
  };
  auto previous = std::signal(SIGINT, on_interrupt);
  RunOutcome out;
  try {
    out = execute(run, cb, cluster);
  } catch (...) {
    std::signal(SIGINT, previous);
    throw;
  }
  std::signal(SIGINT, previous);
  if (bar) std::fprintf(stderr, "\r\033[K");
  return out;
}

}  // namespace

void add_train_run_commands(CLI::App& app, Global& g, Action& action) {
  {
    auto* cmd = app.add_subcommand("train", "Train a model on a commit's data (a pinned, reproducible run)");
    auto req = std::make_shared<RunRequest>();
    auto config = std::make_shared<std::string>();
    auto sets = std::make_shared<std::vector<std::string>>();
    auto json = std::make_shared<bool>(false);
    auto par = std::make_shared<Parallel>();
    cmd->add_option("--rev", req->rev, "The commit to train on (default HEAD)");
    cmd->add_option("--recipe", req->recipe, "The recipe (default classify)");
    cmd->add_option("--config", *config, "A JSON file of settings (docs/train.md)");
    cmd->add_option("--set", *sets, "A setting, KEY=VALUE (repeatable; after --config)");
    cmd->add_option("--seed", req->seed, "Seed of every random generator (default 0)");
    cmd->add_option("--threads", req->threads, "Threads (default: one per core; recorded in the run)");
    cmd->add_option("--init", req->init_file, "Initial weights: a TorchScript file (stored as an object)");
    cmd->add_option("--init-object", req->init_object, "Initial weights: a TorchScript object already stored");
    cmd->add_flag("--allow-check-errors", req->allow_check_errors, "Train even if the commit's checks found errors");
    auto tune = std::make_shared<FineTune>();
    cmd->add_option("--adapter", tune->adapter, "lora: train low-rank adapters and a new head on the frozen --init base");
    cmd->add_option("--lora-rank", tune->rank, "With --adapter lora: the adapters' rank (default 4; --rank is a data-parallel process's number)");
    cmd->add_option("--lora-alpha", tune->alpha, "With --adapter lora: their scale is alpha / rank (default 1)");
    cmd->add_option("--lora-targets", tune->targets, "With --adapter lora: the convolutions adapted: last (the last stage's, default), conv (all) or layer names (conv2,conv3; layer4)");
    cmd->add_flag("--freeze-base", tune->freeze_base, "Linear probe: train only a new head on the frozen --init base");
    auto cpu = std::make_shared<std::string>("avx2");
    cmd->add_option("--cpu", *cpu,
                    "Kernels: avx2 (default; reproduces on any AVX2 CPU) or native (this CPU's best; reproduces only "
                    "on the same kind of CPU, recorded in the spec)")
        ->check(CLI::IsMember({"avx2", "native"}));
    cmd->add_flag("--json", *json, "Print the run record as JSON");
    par->add_to(cmd, true);
    cmd->callback([&g, &action, req, config, sets, json, par, tune, cpu] {
      req->cpu = *cpu == "native" ? CpuPin::kNative : CpuPin::kAvx2;
      pin_environment(req->cpu);
      if (par->nproc > 1) {
        action = [req, par] {
          par->validate();
          auto args = arguments_without_nproc();
          // The machine's cores shared out, unless --threads says otherwise.
          if (req->threads == 0)
            args.insert(args.end(), {"--threads", std::to_string(std::max(1u, std::thread::hardware_concurrency() / par->nproc))});
          return launch_here(args, par->nproc);
        };
        return;
      }
      action = [&g, req, config, sets, json, par, tune] {
        par->validate();
        std::unique_ptr<Cluster> cluster = par->join();
        const unsigned rank = cluster ? cluster->rank() : 0;
        req->world = cluster ? cluster->world() : 1;
        // Only process 0 reports; the others speak only of errors.
        const bool quiet = g.quiet || rank > 0, json_out = *json && rank == 0;
        if (!config->empty()) {
          try {
            req->settings = nlohmann::json::parse(read_local(*config));
          } catch (const nlohmann::json::exception& e) {
            fail(ErrorCode::kInvalidInput, *config + ": not valid JSON (" + e.what() + ")");
          }
          if (!req->settings.is_object()) fail(ErrorCode::kInvalidInput, *config + ": must hold a JSON object");
        }
        for (const auto& s : *sets) {
          size_t eq = s.find('=');
          if (eq == std::string::npos || eq == 0) fail(ErrorCode::kInvalidInput, "--set takes KEY=VALUE, not '" + s + "'");
          std::string value = s.substr(eq + 1);
          nlohmann::json v;
          try {
            v = nlohmann::json::parse(value);
          } catch (const nlohmann::json::exception&) {
            v = value;  // a bare word: a string
          }
          req->settings[s.substr(0, eq)] = v;
        }
        tune->apply(req->settings);
        const int64_t started = static_cast<int64_t>(std::time(nullptr));
        PreparedRun run;
        if (cluster) {
          run = prepare_parallel(g, *cluster, "train", *json, [&](Repo& repo) { return prepare_run(repo, *req); });
        } else {
          auto repo = open_repo(g, "train", *json);
          run = prepare_run(*repo, *req);
        }
        const DataCounts& c = run.counts();
        if (!*json && !quiet) {
          const auto& s = run.spec();
          std::cout << "run " << run.id() << "\n"
                    << "commit " << short_id(s["commit"]) << ", " << s["recipe"].get<std::string>() << " "
                    << s["settings"]["model"].get<std::string>() << ", " << s["settings"]["epochs"] << " epochs, seed "
                    << s["seed"] << ", " << s["threads"] << " threads"
                    << (req->world > 1 ? " in each of " + std::to_string(req->world) + " processes" : std::string()) << "\n"
                    << "data: " << c.train << " training and " << c.validation << " validation examples, "
                    << run.labels().size() << " labels; " << c.excluded << " excluded by the checks";
          if (c.validation_unknown_label)
            std::cout << "; " << c.validation_unknown_label << " validation examples skipped (label unseen in training)";
          std::cout << std::endl;
        }
        RunOutcome out = train_with_output(run, *json, quiet, cluster.get());
        const int code = out.status == RunStatus::kComplete ? 0 : 130;
        if (rank > 0) return code;  // process 0 records the run
        auto repo = open_repo(g, "train", *json);
        RunRecord r = record_run(*repo, run, out, started);
        if (json_out) {
          print_json(record_json(r));
        } else if (!g.quiet || out.status != RunStatus::kComplete) {
          std::cout << r.status;
          if (r.summary.contains("validation_accuracy"))
            std::cout << ": validation accuracy " << fixed(r.summary["validation_accuracy"], 4);
          std::cout << "; weights sha256 " << r.weights << "\n";
        }
        return code;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("reproduce", "Re-train a run from its spec alone and compare the weights");
    auto id = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    auto par = std::make_shared<Parallel>();
    cmd->add_option("run", *id, "Run id or prefix")->required();
    cmd->add_flag("--json", *json, "Print JSON");
    par->add_to(cmd, false);
    cmd->callback([&g, &action, id, json, par] {
      pin_environment();
      action = [&g, id, json, par] {
        par->validate();
        if (par->rendezvous.empty()) {
          // A data-parallel run re-trains with as many processes as it had.
          unsigned world = 1;
          {
            auto repo = open_repo(g, "reproduce", *json, Mode::kRead);
            const RunRecord found = find_run(*repo, *id);
            require_kura_run(found, "reproduce");
            world = found.spec.value("world", 1u);
            pin_environment_of(found.spec);
          }
          if (world > 1) return launch_here(own_arguments(), world);
        }
        std::unique_ptr<Cluster> cluster = par->join();
        const unsigned rank = cluster ? cluster->rank() : 0;
        const bool quiet = g.quiet || rank > 0;
        PreparedRun run;
        std::string recorded;
        RunRecord r;
        auto prepare = [&](Repo& repo) {
          r = find_run(repo, *id);
          return prepare_reproduction(repo, r, &recorded);
        };
        if (cluster) {
          run = prepare_parallel(g, *cluster, "reproduce", *json, prepare);
        } else {
          auto repo = open_repo(g, "reproduce", *json);
          run = prepare(*repo);
        }
        if (!*json && !quiet) std::cout << "re-training run " << r.id << " from its spec" << std::endl;
        RunOutcome out = train_with_output(run, *json, quiet, cluster.get());
        if (out.status != RunStatus::kComplete) {
          if (!*json && rank == 0) std::cout << "interrupted; nothing compared\n";
          return 130;
        }
        if (rank > 0) return 0;  // process 0 compares
        WeightsComparison cmp = compare_weights(recorded, out.weights);
        if (*json) {
          print_json({{"run", r.id},
                      {"identical", cmp.identical},
                      {"weights_sha256", out.weights_sha},
                      {"recorded_weights_sha256", r.weights},
                      {"first_difference", cmp.first_difference},
                      {"max_abs_difference", cmp.max_abs_difference},
                      {"elements_differing", cmp.elements_differing},
                      {"detail", cmp.detail}});
        } else if (cmp.identical) {
          std::cout << "identical " << out.weights_sha << "\n";
        } else {
          std::cout << "differs: " << (cmp.detail.empty() ? "the weights differ" : cmp.detail)
                    << ", max abs difference " << cmp.max_abs_difference << "\n  recorded " << r.weights
                    << "\n  now      " << out.weights_sha << "\n";
        }
        return cmp.identical ? 0 : 1;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("export-model", "Write a run's weights as a libtorch archive (an adapter run: its adapter, or --merged the whole model)");
    auto id = std::make_shared<std::string>(), out = std::make_shared<std::string>();
    auto merged = std::make_shared<bool>(false);
    cmd->add_option("run", *id, "Run id or prefix")->required();
    cmd->add_option("out", *out, "Output file (e.g. model.pt)")->required();
    cmd->add_flag("--merged", *merged, "An adapter run: write the base with the adapters merged in (TorchScript)");
    cmd->callback([&g, &action, id, out, merged] {
      action = [&g, id, out, merged] {
        auto repo = open_repo(g, "export-model", false, Mode::kRead);
        RunRecord r = find_run(*repo, *id);
        const uint64_t size = export_model_to(*repo, r, *out, *merged ? Merge::kYes : Merge::kNo);
        if (!g.quiet) {
          std::cout << "wrote " << *out << " (" << human_bytes(size) << ")";
          if (!r.base_model.empty() && r.spec["settings"].contains("adapter"))
            std::cout << (*merged ? ": base " : ": the adapter (kura weights file) of base ") << short_id(r.base_model)
                      << (*merged ? " with the adapter merged in" : "");
          std::cout << "\n";
        }
        return 0;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("predict", "Label images with a run's model");
    auto id = std::make_shared<std::string>();
    auto images = std::make_shared<std::vector<std::string>>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("run", *id, "Run id or prefix")->required();
    cmd->add_option("images", *images, "Image files")->required();
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, id, images, json] {
      action = [&g, id, images, json] {
        auto repo = open_repo(g, "predict", *json, Mode::kRead);
        RunRecord r = find_run(*repo, *id);
        std::vector<std::string> bytes;
        for (const auto& path : *images) bytes.push_back(read_local(path));
        auto preds = predict(*repo, r, bytes, *images);
        nlohmann::json out = nlohmann::json::array();
        for (size_t i = 0; i < preds.size(); ++i) {
          if (*json) out.push_back({{"image", (*images)[i]}, {"label", preds[i].label}, {"confidence", preds[i].confidence}});
          else std::cout << (*images)[i] << "  " << preds[i].label << "  " << fixed(preds[i].confidence, 3) << "\n";
        }
        if (*json) print_json(out);
        return 0;
      };
    });
  }
}

}  // namespace kura::cli
