// kura runs, run show, run diff; and train, reproduce, export-model and
// predict, which run in the kura-train program (beside this one) so that
// libtorch loads only for them.
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>

#include "commands.hpp"
#include "kura/diff.hpp"
#include "train_output.hpp"

namespace kura::cli {

namespace {

// Replaces this process by kura-train (installed beside kura) with the same
// arguments and the CPU settings pinned in the environment, which libtorch
// and OpenMP read when they load.
// `kura train --cpu native` pins this CPU's best kernels instead (kura-train
// would otherwise start a second time to change them).
[[noreturn]] void hand_to_kura_train() {
  std::vector<std::string> given = own_arguments();
  CpuPin pin = CpuPin::kAvx2;
  for (size_t i = 1; i < given.size(); ++i)
    if (given[i] == "--cpu=native" || (given[i] == "--cpu" && i + 1 < given.size() && given[i + 1] == "native"))
      pin = CpuPin::kNative;
  for (const auto& [name, value] : pinned_environment(pin)) ::setenv(name.c_str(), value.c_str(), 1);
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) fail_errno("find the kura program", "/proc/self/exe");
  self[n] = '\0';
  const std::string helper = (std::filesystem::path(self).parent_path() / "kura-train").string();
  std::vector<std::string> args = own_arguments();
  args.at(0) = helper;
  exec_program(helper, std::move(args),
               "start kura-train, which runs the training commands (it is built and installed beside kura)");
}

// "3/5 epochs" (done of planned), or "3 epochs" for an external run that
// named no plan.
std::string epochs_text(const RunRecord& r) {
  const std::string done = r.summary.value("epochs_done", nlohmann::json(0)).dump();
  const nlohmann::json& settings = r.spec["settings"];
  if (settings.contains("epochs") && settings["epochs"].is_number()) return done + "/" + settings["epochs"].dump() + " epochs";
  return done + " epochs";
}

std::string signed_fixed(const nlohmann::json& v) {
  if (!v.is_number()) return "-";
  const double d = v.get<double>();
  return (d > 0 ? "+" : "") + fixed(d, 4);
}

std::string number_text(const nlohmann::json& v) { return v.is_number() ? fixed(v.get<double>(), 4) : "-"; }

// kura run diff's text: spec keys, the data diff of the two commits, the
// scores side by side with their deltas, per-class F1, the evals, then the
// other summary keys that differ.
void print_run_diff(const RunRecord& ra, const RunRecord& rb, const nlohmann::json& compared, const DiffReport* rows) {
  std::cout << "a: " << ra.id << "\nb: " << rb.id << "\n";
  const nlohmann::json& spec_diff = compared["spec"];
  std::cout << (spec_diff.empty() ? "spec: identical\n" : "spec:\n");
  for (const auto& d : spec_diff) std::cout << "  " << d["key"].get<std::string>() << ": " << d["a"].dump() << " -> " << d["b"].dump() << "\n";
  if (!rows) {
    std::cout << "data: the same commit\n";
  } else {
    std::cout << "data: kura diff " << short_id(ra.spec["commit"]) << " " << short_id(rb.spec["commit"]) << " --stat\n";
    if (rows->empty()) std::cout << " no file differs\n";
    else print_stat(*rows);
  }
  std::cout << "scores:                       a         b     delta\n";
  for (const std::string key : {"validation_accuracy", "validation_loss", "train_accuracy", "train_loss"}) {
    const nlohmann::json& v = compared["scores"][key];
    std::string name = key;
    std::replace(name.begin(), name.end(), '_', ' ');
    name.resize(std::max<size_t>(name.size(), 22), ' ');
    std::cout << "  " << name << " " << std::setw(9) << number_text(v["a"]) << " " << std::setw(9) << number_text(v["b"])
              << " " << std::setw(9) << signed_fixed(v["delta"]) << "\n";
  }
  if (!compared["classes"].empty()) {
    std::cout << "per-class F1 (validation):    a         b     delta  support a/b\n";
    for (const auto& c : compared["classes"]) {
      std::string label = c["label"];
      label.resize(std::max<size_t>(label.size(), 22), ' ');
      const auto& sup = c["support"];
      std::cout << "  " << label << " " << std::setw(9) << number_text(c["a"]) << " " << std::setw(9) << number_text(c["b"])
                << " " << std::setw(9) << signed_fixed(c["delta"]) << "  " << (sup["a"].is_number() ? sup["a"].dump() : "-")
                << "/" << (sup["b"].is_number() ? sup["b"].dump() : "-") << "\n";
    }
  }
  const nlohmann::json& evals = compared["evals"];
  if (!evals["a"].empty() || !evals["b"].empty()) {
    std::cout << "evals (kura eval):\n";
    for (const auto& p : evals["paired"])
      std::cout << "  commit " << short_id(p["commit"]) << " " << p["split"].get<std::string>() << ": accuracy "
                << number_text(p["a"]) << " -> " << number_text(p["b"]) << " (" << signed_fixed(p["delta"]) << ")\n";
    for (const char* side : {"a", "b"})
      for (const auto& e : evals[side]) {
        bool paired = false;
        for (const auto& p : evals["paired"]) paired |= p["commit"] == e["commit"] && p["split"] == e["split"];
        if (!paired)
          std::cout << "  " << side << " only: commit " << short_id(e["commit"]) << " " << e["split"].get<std::string>()
                    << ": accuracy " << number_text(e["accuracy"]) << " of " << e["counts"].value("examples", 0)
                    << " examples\n";
      }
  }
  std::cout << "summary keys that differ:\n";
  for (const auto& d : compared["metrics"])
    std::cout << "  " << d["key"].get<std::string>() << ": " << d["a"].dump() << " -> " << d["b"].dump() << "\n";
}

}  // namespace

void add_train_commands(CLI::App& app, Global& g, Action& action) {
  const std::pair<const char*, const char*> handed[] = {
      {"train", "Train a model on a commit's data (a pinned, reproducible run)"},
      {"reproduce", "Re-train a run from its spec alone and compare the weights"},
      {"export-model", "Write a run's weights as a libtorch archive"},
      {"predict", "Label images with a run's model"},
      {"eval", "Score a run (or a model file) on a commit's data"},
  };
  for (const auto& [name, what] : handed) {
    auto* cmd = app.add_subcommand(name, std::string(what) + " (see kura " + name + " --help)");
    cmd->prefix_command();
    cmd->set_help_flag();  // --help goes to kura-train, which knows the options
    cmd->allow_extras();
    cmd->callback([] { hand_to_kura_train(); });
  }
  {
    auto* cmd = app.add_subcommand("runs", "List training runs, newest first");
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "Print JSON");
    cmd->callback([&g, &action, json] {
      action = [&g, json] {
        auto repo = open_repo(g, "runs", *json, Mode::kRead);
        auto runs = list_runs(*repo);
        if (*json) {
          nlohmann::json out = nlohmann::json::array();
          for (const auto& r : runs) {
            nlohmann::json j = record_json(r);
            // Only when there are some: a run's listing stays what kura.Repo.runs() gives.
            for (const auto& e : list_evals(*repo, r.id)) j["evals"].push_back(eval_summary(e));
            out.push_back(std::move(j));
          }
          print_json(out);
          return 0;
        }
        for (const auto& r : runs) {
          std::cout << color(short_id(r.id), "33") << "  " << r.status << "  commit " << short_id(r.spec["commit"]) << "  "
                    << r.spec["recipe"].get<std::string>() << "/" << r.spec["settings"]["model"].get<std::string>() << "  "
                    << epochs_text(r);
          if (r.summary.contains("validation_accuracy"))
            std::cout << "  validation accuracy " << fixed(r.summary["validation_accuracy"], 4);
          if (const size_t n = list_evals(*repo, r.id).size()) std::cout << "  " << n << (n == 1 ? " eval" : " evals");
          std::cout << "  " << when(r.finished) << "\n";
        }
        return 0;
      };
    });
  }
  {
    auto* run_cmd = app.add_subcommand("run", "Look at training runs");
    run_cmd->require_subcommand(1);
    auto* show = run_cmd->add_subcommand("show", "A run's spec, metrics per epoch, confusion matrix and outputs");
    auto id = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    auto log = std::make_shared<bool>(false);
    show->add_option("run", *id, "Run id or prefix")->required();
    show->add_flag("--json", *json, "Print JSON");
    show->add_flag("--log", *log, "Print the run's log");
    show->callback([&g, &action, id, json, log] {
      action = [&g, id, json, log] {
        auto repo = open_repo(g, "run show", *json, Mode::kRead);
        RunRecord r = find_run(*repo, *id);
        nlohmann::json metrics = run_metrics(*repo, r);
        const std::vector<nlohmann::json> evals = list_evals(*repo, r.id);
        if (*json) {
          nlohmann::json j = record_json(r);
          j["metrics_data"] = metrics;
          j["evals"] = nlohmann::json::array();
          for (const auto& e : evals) j["evals"].push_back(eval_summary(e));
          print_json(j);
          return 0;
        }
        if (*log) {
          auto log_id = ObjectId::from_hex(r.log);
          if (!log_id) fail(ErrorCode::kCorrupt, "run " + r.id + " names a bad log object");
          std::cout << repo->store().read_object(*log_id);
          return 0;
        }
        std::cout << color("run " + r.id, "33") << "\n"
                  << "status:   " << r.status << " (" << when(r.started) << " to " << when(r.finished) << " UTC)\n"
                  << "commit:   " << r.spec["commit"].get<std::string>() << "\n"
                  << "spec:     " << r.spec.dump() << "\n"
                  << "data:     " << metrics["counts"].dump() << "\n"
                  << "weights:  " << r.weights << "\n"
                  << "metrics:  " << r.metrics << "\n"
                  << "log:      " << r.log << "\n";
        if (!r.base_model.empty()) std::cout << "base:     " << r.base_model << "\n";
        for (const auto& e : evals)
          std::cout << "eval:     commit " << short_id(e.value("commit", "")) << ", " << e.value("split", "") << ": accuracy "
                    << fixed(e.value("accuracy", 0.0), 4) << " of " << e["counts"].value("examples", 0) << " examples ("
                    << when(e.value("created", int64_t{0})) << " UTC; kura eval " << short_id(r.id) << " --rev "
                    << short_id(e.value("commit", "")) << " --split " << e.value("split", "") << " shows it)\n";
        if (external_run(r)) {
          std::cout << "trained outside kura (kura.torch.record_run): kura cannot reproduce, export or predict with it\n";
          for (const auto& e : metrics["epochs"]) {
            std::cout << "epoch " << (e.contains("epoch") ? e["epoch"].dump() : "?");
            for (const auto& [key, value] : e.items())
              if (key != "epoch") std::cout << "  " << key << " " << (value.is_number_float() ? fixed(value, 4) : value.dump());
            std::cout << "\n";
          }
          return 0;
        }
        const int epochs = r.spec["settings"]["epochs"];
        for (const auto& e : metrics["epochs"]) {
          EpochMetrics m;
          m.epoch = e["epoch"];
          m.train_loss = e["train_loss"];
          m.train_accuracy = e["train_accuracy"];
          m.validation_loss = e["validation_loss"];
          m.validation_accuracy = e["validation_accuracy"];
          m.images_per_second = e["images_per_second"];
          m.seconds = e["seconds"];
          std::cout << epoch_line(m, epochs) << "\n";
        }
        std::vector<std::string> labels = metrics["labels"];
        if (!metrics["confusion"].empty()) {
          print_confusion(labels, metrics["confusion"]);
        }
        return 0;
      };
    });
    auto* diff = run_cmd->add_subcommand("diff", "What differs between two runs: data, settings, metrics");
    auto a = std::make_shared<std::string>(), b = std::make_shared<std::string>();
    auto djson = std::make_shared<bool>(false);
    diff->add_option("run_a", *a, "Run id or prefix")->required();
    diff->add_option("run_b", *b, "Run id or prefix")->required();
    diff->add_flag("--json", *djson, "Print JSON");
    diff->callback([&g, &action, a, b, djson] {
      action = [&g, a, b, djson] {
        auto repo = open_repo(g, "run diff", *djson, Mode::kRead);
        RunRecord ra = find_run(*repo, *a), rb = find_run(*repo, *b);
        nlohmann::json compared = compare_runs(*repo, ra, rb);
        // The row-level diff of the two commits, as kura diff --stat gives it.
        std::optional<DiffReport> rows;
        const nlohmann::json &ca = ra.spec["commit"], &cb = rb.spec["commit"];
        if (ca.is_string() && cb.is_string() && ca != cb) {
          DiffOptions o;
          o.from = ca;
          o.to = cb;
          o.detail = DiffDetail::kStat;
          rows = kura::diff(*repo, o);
        }
        if (*djson) {
          compared["rows"] = rows ? rows->to_json() : nlohmann::json();
          print_json(compared);
          return 0;
        }
        print_run_diff(ra, rb, compared, rows ? &*rows : nullptr);
        return 0;
      };
    });
  }
}

}  // namespace kura::cli
