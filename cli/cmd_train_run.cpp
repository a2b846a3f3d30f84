// kura-train: train, reproduce, export-model, predict (the commands that
// need libtorch; the kura command hands them to this program).
#include <unistd.h>

#include <csignal>
#include <iostream>

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
void pin_environment() {
  if (environment_pinned()) return;
  for (const auto& [name, value] : pinned_environment()) ::setenv(name.c_str(), value.c_str(), 1);
  exec_program("/proc/self/exe", own_arguments(), "restart kura with the pinned CPU settings");
}

std::string clock_time(double seconds) {
  int s = static_cast<int>(std::lround(seconds));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%d:%02d", s / 60, s % 60);
  return buf;
}

// Trains `run` with the repository closed, Ctrl-C stopping it cleanly.
RunOutcome train_with_output(const PreparedRun& run, bool json, bool quiet) {
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
    out = execute(run, cb);
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
    cmd->add_option("--rev", req->rev, "The commit to train on (default HEAD)");
    cmd->add_option("--recipe", req->recipe, "The recipe (default classify)");
    cmd->add_option("--config", *config, "A JSON file of settings (docs/train.md)");
    cmd->add_option("--set", *sets, "A setting, KEY=VALUE (repeatable; after --config)");
    cmd->add_option("--seed", req->seed, "Seed of every random generator (default 0)");
    cmd->add_option("--threads", req->threads, "Threads (default: one per core; recorded in the run)");
    cmd->add_option("--init", req->init_file, "Initial weights: a TorchScript file (stored as an object)");
    cmd->add_option("--init-object", req->init_object, "Initial weights: a TorchScript object already stored");
    cmd->add_flag("--allow-check-errors", req->allow_check_errors, "Train even if the commit's checks found errors");
    cmd->add_flag("--json", *json, "Print the run record as JSON");
    cmd->callback([&g, &action, req, config, sets, json] {
      pin_environment();
      action = [&g, req, config, sets, json] {
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
        const int64_t started = static_cast<int64_t>(std::time(nullptr));
        PreparedRun run;
        {
          auto repo = open_repo(g, "train", *json);
          run = prepare_run(*repo, *req);
        }
        const DataCounts& c = run.counts();
        if (!*json && !g.quiet) {
          const auto& s = run.spec();
          std::cout << "run " << run.id() << "\n"
                    << "commit " << short_id(s["commit"]) << ", " << s["recipe"].get<std::string>() << " "
                    << s["settings"]["model"].get<std::string>() << ", " << s["settings"]["epochs"] << " epochs, seed "
                    << s["seed"] << ", " << s["threads"] << " threads\n"
                    << "data: " << c.train << " training and " << c.validation << " validation examples, "
                    << run.labels().size() << " labels; " << c.excluded << " excluded by the checks";
          if (c.validation_unknown_label)
            std::cout << "; " << c.validation_unknown_label << " validation examples skipped (label unseen in training)";
          std::cout << std::endl;
        }
        RunOutcome out = train_with_output(run, *json, g.quiet);
        auto repo = open_repo(g, "train", *json);
        RunRecord r = record_run(*repo, run, out, started);
        if (*json) {
          print_json(record_json(r));
        } else if (!g.quiet || out.status != RunStatus::kComplete) {
          std::cout << r.status;
          if (r.summary.contains("validation_accuracy"))
            std::cout << ": validation accuracy " << fixed(r.summary["validation_accuracy"], 4);
          std::cout << "; weights sha256 " << r.weights << "\n";
        }
        return out.status == RunStatus::kComplete ? 0 : 130;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("reproduce", "Re-train a run from its spec alone and compare the weights");
    auto id = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("run", *id, "Run id or prefix")->required();
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, id, json] {
      pin_environment();
      action = [&g, id, json] {
        PreparedRun run;
        std::string recorded;
        RunRecord r;
        {
          auto repo = open_repo(g, "reproduce", *json);
          r = find_run(*repo, *id);
          if (r.status != "complete")
            fail(ErrorCode::kInvalidInput, "run " + short_id(r.id) + " is " + r.status +
                                               "; only a complete run can be reproduced (kura train completes it)");
          run = prepare_from_spec(*repo, r.spec);
          if (run.id() != r.id) fail(ErrorCode::kCorrupt, "run " + r.id + ": its spec hashes to " + run.id());
          auto wid = ObjectId::from_hex(r.weights);
          if (!wid) fail(ErrorCode::kCorrupt, "run " + r.id + " names a bad weights object");
          recorded = repo->store().read_object(*wid);
        }
        if (!*json && !g.quiet) std::cout << "re-training run " << r.id << " from its spec" << std::endl;
        RunOutcome out = train_with_output(run, *json, g.quiet);
        if (out.status != RunStatus::kComplete) {
          if (!*json) std::cout << "interrupted; nothing compared\n";
          return 130;
        }
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
    auto* cmd = app.add_subcommand("export-model", "Write a run's weights as a libtorch archive");
    auto id = std::make_shared<std::string>(), out = std::make_shared<std::string>();
    cmd->add_option("run", *id, "Run id or prefix")->required();
    cmd->add_option("out", *out, "Output file (e.g. model.pt)")->required();
    cmd->callback([&g, &action, id, out] {
      action = [&g, id, out] {
        auto repo = open_repo(g, "export-model", false, Mode::kRead);
        RunRecord r = find_run(*repo, *id);
        std::string bytes = export_model(*repo, r);
        std::string tmp = *out + ".tmp";
        {
          std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
          f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
          if (!f.flush()) fail_errno("write", tmp);
        }
        if (std::rename(tmp.c_str(), out->c_str()) != 0) fail_errno("rename to", *out);
        if (!g.quiet) std::cout << "wrote " << *out << " (" << human_bytes(bytes.size()) << ")\n";
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
