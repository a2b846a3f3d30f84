// kura eval (in kura-train): a run or a model file scored on a commit's data.
#include <iostream>

#include "commands.hpp"
#include "train_output.hpp"

namespace kura::cli {

namespace {

constexpr size_t kWrongShown = 20;

void print_eval(const Evaluation& e) {
  const nlohmann::json& r = e.record;
  const nlohmann::json& c = r["counts"];
  std::cout << "eval " << short_id(r["model"]) << " on commit " << short_id(r["commit"]) << ", " << r["split"].get<std::string>()
            << " (" << r["source"].get<std::string>() << ")"
            << (e.reused ? ": reused the stored record (computed once)" : "") << "\n"
            << "accuracy " << fixed(r["accuracy"], 4) << " (" << c["correct"] << " of " << c["examples"] << ")";
  if (c["excluded"].get<uint64_t>()) std::cout << "; " << c["excluded"] << " excluded by the checks";
  if (c["unknown_label"].get<uint64_t>()) std::cout << "; " << c["unknown_label"] << " skipped (label unknown to the model)";
  std::cout << "\n";
  size_t w = 6;
  for (const auto& k : r["classes"]) w = std::max(w, k["label"].get<std::string>().size() + 1);
  std::cout << "label" << std::string(w - 5, ' ') << "precision  recall     f1         support\n";
  for (const auto& k : r["classes"]) {
    std::string l = k["label"];
    std::cout << l << std::string(w - l.size(), ' ') << fixed(k["precision"], 4) << "     "
              << fixed(k["recall"], 4) << "     " << fixed(k["f1"], 4) << "     " << k["support"] << "\n";
  }
  print_confusion(r["labels"].get<std::vector<std::string>>(), r["confusion"]);
  const nlohmann::json& wrong = r["wrong"];
  if (!wrong.empty()) std::cout << "wrong (" << wrong.size() << "):\n";
  for (size_t i = 0; i < wrong.size() && i < kWrongShown; ++i) {
    const auto& w = wrong[i];
    std::cout << "  " << w["file"].get<std::string>() << (w["line"].is_null() ? "" : ":" + w["line"].dump()) << "  image "
              << short_id(w["image"]) << "  true " << w["true"].get<std::string>() << ", predicted "
              << w["predicted"].get<std::string>() << " (" << fixed(w["confidence"], 3) << ")\n";
  }
  if (wrong.size() > kWrongShown)
    std::cout << "  ... and " << wrong.size() - kWrongShown << " more (kura eval --json lists them all)\n";
}

}  // namespace

void add_eval_command(CLI::App& app, Global& g, Action& action) {
  auto* cmd = app.add_subcommand("eval", "Score a run (or a model file) on a commit's data: accuracy, per class, confusion, the wrong examples");
  auto req = std::make_shared<EvalRequest>();
  auto labels = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("run", req->run, "Run id or prefix");
  cmd->add_option("--model", req->model_file, "A model file (TorchScript, as export-model writes it) instead of a run");
  cmd->add_option("--labels", *labels, "With --model: the labels in class order, a,b,... (default: the commit's training labels, sorted)");
  cmd->add_option("--image-size", req->image_size, "With --model: the input side (default 32)");
  cmd->add_option("--rev", req->rev, "The commit whose data is scored (default HEAD)");
  cmd->add_option("--split", req->split, "validation (default), test, or a JSONL file or <label>/ image folder in the commit");
  cmd->add_option("--threads", req->threads, "Threads (default: one per core)");
  cmd->add_flag("--json", *json, "Print the eval record as JSON");
  cmd->callback([&g, &action, req, labels, json] {
    action = [&g, req, labels, json] {
      if (!labels->empty()) {
        size_t start = 0;
        while (start <= labels->size()) {
          size_t comma = std::min(labels->find(',', start), labels->size());
          req->labels.push_back(labels->substr(start, comma - start));
          start = comma + 1;
        }
      }
      auto repo = open_repo(g, "eval", *json);
      Evaluation e = evaluate_model(*repo, *req);
      if (*json) {
        nlohmann::json j = e.record;
        j["reused"] = e.reused;
        print_json(j);
      } else if (!g.quiet) {
        print_eval(e);
      }
      return 0;
    };
  });
}

}  // namespace kura::cli
