// kura eval: a run's (or a model file's) predictions on one set of a
// commit's examples, scored per class, stored as an eval record so that the
// same (model, commit, split) is computed once. Torch-free: the network runs
// through the engine's classify().
#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "kura/error.hpp"
#include "kura/repo.hpp"
#include "kura/train.hpp"
#include "train/dataset.hpp"
#include "train/scores.hpp"
#include "train/spec.hpp"

namespace kura {

namespace {

struct Model {
  std::string id;       // the key's model id
  nlohmann::json what;  // {"run": id} or {"file": sha256, "image_size", "labels"}
  std::string weights;  // kura's weights format
  std::string base;     // an adapter run's base model, TorchScript
  train::Hyper hyper;
  std::vector<std::string> labels;
  nlohmann::json settings;  // data settings: where "validation" points
};

std::string read_model_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_errno("read the model", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> training_labels(const Repo& repo, const std::string& commit) {
  train::Split split = train::load_examples(repo, commit, train::classify_defaults(), nullptr);
  std::set<std::string> labels;
  for (const auto& e : split.train) labels.insert(e.label);
  return {labels.begin(), labels.end()};
}

Model load_model(Repo& repo, const EvalRequest& request, const std::string& commit, unsigned threads) {
  Model m;
  if (request.run.empty() == request.model_file.empty())
    fail(ErrorCode::kInvalidInput, "give a run id or --model FILE, not both and not neither");
  if (!request.run.empty()) {
    RunRecord r = find_run(repo, request.run);
    require_kura_run(r, "evaluate");
    RunModel rm = run_model(repo, r);
    m.id = r.id;
    m.what = {{"run", r.id}};
    m.weights = std::move(rm.weights);
    m.base = std::move(rm.base);
    m.hyper = train::hyper_of(r.spec);
    m.labels = r.summary.at("labels").get<std::vector<std::string>>();
    m.settings = r.spec.at("settings");
  } else {
    if (request.image_size < 8 || request.image_size > 512)
      fail(ErrorCode::kInvalidInput, "--image-size must be between 8 and 512");
    const std::string bytes = read_model_file(request.model_file);
    int classes = 0;
    m.hyper.image_size = request.image_size;
    try {
      m.weights = train::weights_of_model_file(bytes, &m.hyper, &classes);
    } catch (const Error& e) {
      fail(e.code(), request.model_file + ": " + e.what());
    }
    m.labels = request.labels.empty() ? training_labels(repo, commit) : request.labels;
    if (static_cast<int>(m.labels.size()) != classes)
      fail(ErrorCode::kInvalidInput, request.model_file + " classifies into " + std::to_string(classes) + " classes but " +
                                         std::to_string(m.labels.size()) +
                                         (request.labels.empty() ? " labels are in the commit's training data"
                                                                 : " labels were given") +
                                         " (--labels a,b,... names them in class order)");
    m.what = {{"file", sha256(bytes).hex()}, {"image_size", request.image_size}, {"labels", m.labels}};
    m.id = sha256(m.what.dump()).hex();
    m.settings = train::classify_defaults();
  }
  m.hyper.threads = threads;
  return m;
}

double ratio(uint64_t a, uint64_t b) { return b ? static_cast<double>(a) / static_cast<double>(b) : 0.0; }

}  // namespace

Evaluation evaluate_model(Repo& repo, const EvalRequest& request) {
  const std::string commit = repo.resolve(request.rev).id;
  const unsigned threads = request.threads ? request.threads : std::max(1u, std::thread::hardware_concurrency());
  Model model = load_model(repo, request, commit, threads);
  if (request.split.empty() || request.split.find('\n') != std::string::npos)
    fail(ErrorCode::kInvalidInput, "--split takes validation, test or a path in the commit");
  const std::string key = "eval/" + model.id + "/" + commit + "/" + request.split;
  if (auto stored = repo.store().get(Table::kRuns, key)) {
    Evaluation e;
    e.record = nlohmann::json::parse(*stored, nullptr, false);
    if (e.record.is_discarded()) fail(ErrorCode::kCorrupt, "eval record " + key + " is not JSON");
    // A record made from other pixels (an older decoder) is made again, and replaced.
    if (e.record.value("pixels", 1) == train::kPixelsVersion) {
      e.reused = true;
      return e;
    }
  }
  std::string file, dir;
  if (request.split == "validation") {
    file = model.settings.value("validation_file", "validation.jsonl");
    dir = model.settings.value("validation_dir", "validation");
  } else if (request.split == "test") {
    file = "test.jsonl", dir = "test";
  } else {
    file = dir = request.split;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  }
  CheckReport report = repo.report_for(commit, threads);
  uint64_t excluded = 0, unknown = 0;
  std::vector<train::Example> examples = train::load_set(repo, commit, file, dir, &report, &excluded);
  train::Images images = train::decode_examples(examples, model.hyper.image_size, threads, model.labels, &unknown);
  if (images.count() == 0)
    fail(ErrorCode::kInvalidInput, "commit " + commit.substr(0, 12) + ": split " + request.split + " has no example to evaluate (" +
                                       std::to_string(excluded) + " excluded by the checks, " + std::to_string(unknown) +
                                       " with a label the model does not know)");
  // The images that survived, in order, for the wrong list.
  std::vector<const train::Example*> kept;
  {
    std::set<std::string> known(model.labels.begin(), model.labels.end());
    for (const auto& e : examples)
      if (known.count(e.label)) kept.push_back(&e);
  }
  const auto probs = train::classify(model.weights, model.hyper, static_cast<int>(model.labels.size()), images,
                                     model.base.empty() ? nullptr : &model.base);
  const size_t k = model.labels.size();
  std::vector<std::vector<uint64_t>> confusion(k, std::vector<uint64_t>(k, 0));
  nlohmann::json wrong = nlohmann::json::array();
  uint64_t correct = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    const size_t p = static_cast<size_t>(std::max_element(probs[i].begin(), probs[i].end()) - probs[i].begin());
    const size_t t = static_cast<size_t>(images.labels[i]);
    ++confusion[t][p];
    if (p == t) {
      ++correct;
      continue;
    }
    const std::string& source = kept[i]->source;
    const size_t colon = source.rfind(':');
    const bool jsonl = colon != std::string::npos && source.find_first_not_of("0123456789", colon + 1) == std::string::npos;
    wrong.push_back({{"file", jsonl ? source.substr(0, colon) : source},
                     {"line", jsonl ? nlohmann::json(std::stoull(source.substr(colon + 1))) : nlohmann::json()},
                     {"image", sha256(kept[i]->image).hex()},
                     {"true", model.labels[t]},
                     {"predicted", model.labels[p]},
                     {"confidence", probs[i][p]}});
  }
  nlohmann::json classes = nlohmann::json::array();
  const std::vector<ClassScore> scores = class_scores(confusion);
  for (size_t c = 0; c < k; ++c)
    classes.push_back({{"label", model.labels[c]},
                       {"precision", scores[c].precision},
                       {"recall", scores[c].recall},
                       {"f1", scores[c].f1},
                       {"support", scores[c].support}});
  Evaluation e;
  e.record = {{"key", key},
              {"model", model.id},
              {"model_source", model.what},
              {"commit", commit},
              {"split", request.split},
              {"source", repo.file_at(commit, file) ? file : dir + "/<label>/"},
              {"labels", model.labels},
              {"counts",
               {{"examples", images.count()}, {"correct", correct}, {"excluded", excluded}, {"unknown_label", unknown}}},
              {"accuracy", ratio(correct, images.count())},
              {"classes", classes},
              {"confusion", confusion},
              {"wrong", wrong},
              {"threads", threads},
              {"pixels", train::kPixelsVersion},
              {"created", static_cast<int64_t>(std::time(nullptr))},
              {"created_ns", static_cast<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                                      .count())}};
  repo.store().put(Table::kRuns, key, e.record.dump(), Sync::kYes);
  return e;
}

}  // namespace kura
