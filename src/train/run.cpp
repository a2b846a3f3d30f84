// Runs: from a request to a spec and decoded data, training, and the record
// that names the outputs.
#include <algorithm>
#include <ctime>
#include <set>
#include <thread>
#include <tuple>

#include "kura/error.hpp"
#include "kura/repo.hpp"
#include "kura/train.hpp"
#include "train/dataset.hpp"
#include "train/spec.hpp"
#include "util/fs.hpp"

namespace kura {

struct PreparedRun::Impl {
  nlohmann::json spec;
  std::vector<std::string> labels;
  DataCounts counts;
  train::Images train, validation;
  std::string base_model;  // bytes, empty when none
};

PreparedRun::PreparedRun() : impl_(std::make_unique<Impl>()) {}
PreparedRun::~PreparedRun() = default;
PreparedRun::PreparedRun(PreparedRun&&) noexcept = default;
PreparedRun& PreparedRun::operator=(PreparedRun&&) noexcept = default;
const nlohmann::json& PreparedRun::spec() const { return impl_->spec; }
std::string PreparedRun::canonical_spec() const { return train::canonical(impl_->spec); }
std::string PreparedRun::id() const { return sha256(canonical_spec()).hex(); }
const std::vector<std::string>& PreparedRun::labels() const { return impl_->labels; }
const DataCounts& PreparedRun::counts() const { return impl_->counts; }

const char* run_status_name(RunStatus status) { return status == RunStatus::kComplete ? "complete" : "interrupted"; }

std::string torch_version() { return train::libtorch_version(); }

namespace {

// 2: images resampled as Pillow does (decode_pixels); 1 had libvips' thumbnail.
constexpr int kSpecFormat = 2;

PreparedRun build(Repo& repo, nlohmann::json spec) {
  const std::string commit = spec.at("commit");
  const unsigned threads = spec.at("threads");
  std::string checks;
  CheckReport report = repo.report_for(commit, threads, &checks);
  if (spec.contains("checks") && spec["checks"] != checks)
    fail(ErrorCode::kConflict, "the run used checks '" + spec["checks"].get<std::string>() +
                                   "' but the repository now gives '" + checks +
                                   "' (the policy changed: kura-checks.json of the commit, or the local .kura/checks.json)");
  spec["checks"] = checks;
  if (!spec.at("allow_check_errors").get<bool>()) report.refuse_errors(commit, "train");
  train::Split split = train::load_examples(repo, commit, spec.at("settings"), &report);
  PreparedRun run;
  auto& I = *run.impl_;
  std::set<std::string> labels;
  for (const auto& e : split.train) labels.insert(e.label);
  I.labels.assign(labels.begin(), labels.end());
  if (I.labels.size() < 2)
    fail(ErrorCode::kInvalidInput, "the training data has " + std::to_string(I.labels.size()) +
                                       " label; classification needs at least two");
  const int size = spec.at("settings").at("image_size");
  I.train = train::decode_examples(split.train, size, threads, I.labels, nullptr);
  I.validation = train::decode_examples(split.validation, size, threads, I.labels, &I.counts.validation_unknown_label);
  I.counts.train = I.train.count();
  I.counts.validation = I.validation.count();
  I.counts.excluded = split.excluded;
  I.counts.images_decoded = I.train.count() + I.validation.count();
  if (!spec.at("base_model").is_null()) {
    auto id = ObjectId::from_hex(spec["base_model"].get<std::string>());
    if (!id) fail(ErrorCode::kInvalidInput, "base_model must be an object id (64 hex digits)");
    I.base_model = repo.store().read_object(*id);
  }
  I.spec = std::move(spec);
  return run;
}

}  // namespace

PreparedRun prepare_run(Repo& repo, const RunRequest& request) {
  if (request.recipe != "classify")
    fail(ErrorCode::kInvalidInput, "unknown recipe '" + request.recipe + "' (recipes: classify)");
  const CommitInfo commit = repo.resolve(request.rev);
  nlohmann::json base = nullptr;
  if (!request.init_file.empty() && !request.init_object.empty())
    fail(ErrorCode::kInvalidInput, "give the base model as a file or as an object id, not both");
  if (!request.init_file.empty()) {
    std::string bytes;
    FILE* f = std::fopen(request.init_file.c_str(), "rb");
    if (!f) fail_errno("open the base model", request.init_file);
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, n);
    std::fclose(f);
    ObjectId id = repo.store().put_object(bytes);
    repo.store().sync_objects();
    base = id.hex();
  } else if (!request.init_object.empty()) {
    auto id = ObjectId::from_hex(request.init_object);
    if (!id || !repo.store().has_object(*id))
      fail(ErrorCode::kNotFound, "base model object " + request.init_object + " not found");
    base = id->hex();
  }
  if (request.world < 1 || request.world > 1024)
    fail(ErrorCode::kInvalidInput, "the world size must be between 1 and 1024, not " + std::to_string(request.world));
  nlohmann::json settings = train::fill_settings(request.settings);
  if (settings.value("adapter", "none") != "none" && base.is_null())
    fail(ErrorCode::kInvalidInput, std::string(settings["adapter"] == "lora" ? "--adapter lora" : "--freeze-base") +
                                       " fine-tunes a base model: give it with --init BASE.pt (or --init-object ID)");
  unsigned threads = request.threads ? request.threads : std::max(1u, std::thread::hardware_concurrency());
  nlohmann::json spec = {
      {"format", kSpecFormat},
      {"commit", commit.id},
      {"recipe", request.recipe},
      {"settings", settings},
      {"seed", request.seed},
      {"threads", threads},
      {"world", request.world},
      {"base_model", base},
      {"allow_check_errors", request.allow_check_errors},
      {"kura_version", version()},
      {"libtorch_version", torch_version()},
      {"cpu", train::cpu_settings(request.cpu)},
  };
  return build(repo, std::move(spec));
}

PreparedRun prepare_from_spec(Repo& repo, const nlohmann::json& spec) {
  if (spec.value("format", 0) != kSpecFormat)
    fail(ErrorCode::kConflict, "the run's spec is format " + spec.value("format", nlohmann::json(0)).dump() +
                                   ", from a kura that decoded images with libvips' thumbnail (other pixels); this kura "
                                   "reads format " + std::to_string(kSpecFormat) + ": train the run again");
  if (spec.value("kura_version", "") != version() || spec.value("libtorch_version", "") != torch_version())
    fail(ErrorCode::kConflict, "the run was made by kura " + spec.value("kura_version", "?") + " with libtorch " +
                                   spec.value("libtorch_version", "?") + "; this is kura " + version() +
                                   " with libtorch " + torch_version() + ", whose weights may differ");
  if (spec.value("recipe", "") != "classify") fail(ErrorCode::kInvalidInput, "unknown recipe in the run spec");
  std::ignore = run_environment(spec);  // refuses a native run of another kind of CPU before any decoding
  return build(repo, spec);
}

PreparedRun prepare_on_cluster(Cluster& cluster, const std::function<PreparedRun()>& prepare,
                               const std::function<PreparedRun(const nlohmann::json& spec)>& rebuild) {
  if (cluster.rank() == 0) {
    PreparedRun run;
    try {
      run = prepare();
    } catch (const std::exception& e) {
      cluster.publish("spec", std::string("error ") + e.what());
      throw;
    }
    cluster.publish("spec", run.canonical_spec());
    return run;
  }
  const std::string spec = cluster.fetch("spec");
  if (spec.rfind("error ", 0) == 0)
    fail(ErrorCode::kInvalidInput, "process 0 could not prepare the run: " + spec.substr(6));
  return rebuild(nlohmann::json::parse(spec));
}

PreparedRun prepare_reproduction(Repo& repo, const RunRecord& record, std::string* recorded_weights) {
  require_kura_run(record, "reproduce");
  if (record.status != "complete")
    fail(ErrorCode::kInvalidInput, "run " + record.id.substr(0, 12) + " is " + record.status +
                                       "; only a complete run can be reproduced (kura train completes it)");
  PreparedRun prepared = prepare_from_spec(repo, record.spec);
  if (prepared.id() != record.id)
    fail(ErrorCode::kCorrupt, "run " + record.id + ": its spec hashes to " + prepared.id());
  auto wid = ObjectId::from_hex(record.weights);
  if (!wid) fail(ErrorCode::kCorrupt, "run " + record.id + " names a bad weights object");
  *recorded_weights = repo.store().read_object(*wid);
  return prepared;
}

RunOutcome execute(const PreparedRun& run, const TrainCallbacks& callbacks, Cluster* cluster) {
  const auto& I = *run.impl_;
  train::require_environment(I.spec);
  train::EngineInput in;
  in.hyper = train::hyper_of(I.spec);
  const unsigned joined = cluster ? cluster->world() : 1;
  if (joined != in.hyper.world)
    fail(ErrorCode::kInvalidInput, "the run is for " + std::to_string(in.hyper.world) + " processes but " +
                                       std::to_string(joined) + (joined == 1 ? " is" : " are") +
                                       " training it (--nproc N, or --rendezvous with --world N)");
  in.cluster = cluster;
  in.classes = static_cast<int>(I.labels.size());
  in.train = &I.train;
  in.validation = &I.validation;
  if (!I.base_model.empty()) in.base_model = &I.base_model;
  RunOutcome out = train::train_model(in, callbacks);
  const DataCounts& c = I.counts;
  out.log = "run " + run.id() + "\nspec " + run.canonical_spec() + "\ndata: " + std::to_string(c.train) +
            " training and " + std::to_string(c.validation) + " validation examples, " + std::to_string(I.labels.size()) +
            " labels; " + std::to_string(c.excluded) + " excluded by the checks; " +
            std::to_string(c.validation_unknown_label) + " validation examples with a label unseen in training\n" +
            out.log + "weights " + out.weights_sha + "\n";
  return out;
}

RunRecord record_run(Repo& repo, const PreparedRun& run, const RunOutcome& outcome, int64_t started) {
  Store& store = repo.store();
  const auto& I = *run.impl_;
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : outcome.epochs)
    epochs.push_back({{"epoch", e.epoch},
                      {"train_loss", e.train_loss},
                      {"train_accuracy", e.train_accuracy},
                      {"validation_loss", e.validation_loss},
                      {"validation_accuracy", e.validation_accuracy},
                      {"images_per_second", e.images_per_second},
                      {"seconds", e.seconds}});
  const DataCounts& c = I.counts;
  nlohmann::json counts = {{"train", c.train},
                           {"validation", c.validation},
                           {"excluded", c.excluded},
                           {"validation_unknown_label", c.validation_unknown_label}};
  nlohmann::json metrics = {{"labels", I.labels}, {"epochs", epochs}, {"confusion", outcome.confusion}, {"counts", counts}};
  RunRecord r;
  r.id = run.id();
  r.spec = I.spec;
  r.status = run_status_name(outcome.status);
  r.started = started;
  r.finished = static_cast<int64_t>(std::time(nullptr));
  r.weights = store.put_object(outcome.weights).hex();
  r.metrics = store.put_object(metrics.dump(2)).hex();
  r.log = store.put_object(outcome.log).hex();
  r.base_model = I.spec.at("base_model").is_null() ? "" : I.spec["base_model"].get<std::string>();
  r.summary = {{"labels", I.labels},
               {"counts", counts},
               {"epochs_done", outcome.epochs.size()},
               {"seconds", outcome.seconds},
               {"peak_rss_bytes", outcome.peak_rss_bytes},
               {"parameters", outcome.parameters},
               {"trainable_parameters", outcome.trainable_parameters}};
  if (!outcome.epochs.empty()) {
    const auto& last = outcome.epochs.back();
    r.summary["train_loss"] = last.train_loss;
    r.summary["validation_accuracy"] = last.validation_accuracy;
    double images = 0, seconds = 0;
    for (const auto& e : outcome.epochs) images += e.images_per_second * e.seconds, seconds += e.seconds;
    r.summary["images_per_second"] = seconds > 0 ? images / seconds : 0;
  }
  store.sync_objects();  // outputs first, then the record that names them
  store.put(Table::kRuns, "run/" + r.id, r.to_json().dump(), Sync::kYes);
  return r;
}

namespace {
std::string read_object_named(const Repo& repo, const RunRecord& record, const std::string& id_hex, const char* what) {
  auto id = ObjectId::from_hex(id_hex);
  if (!id) fail(ErrorCode::kCorrupt, "run " + record.id + " names a bad " + what + " object");
  return const_cast<Repo&>(repo).store().read_object(*id);
}
}  // namespace

RunModel run_model(const Repo& repo, const RunRecord& record) {
  RunModel m;
  m.weights = read_object_named(repo, record, record.weights, "weights");
  if (train::hyper_of(record.spec).adapter != "none") {
    if (record.base_model.empty()) fail(ErrorCode::kCorrupt, "adapter run " + record.id + " names no base model");
    m.base = read_object_named(repo, record, record.base_model, "base model");
  }
  return m;
}

WeightsComparison compare_weights(const std::string& a, const std::string& b) { return train::compare_weight_files(a, b); }

std::string export_model(const Repo& repo, const RunRecord& record, Merge merge) {
  require_kura_run(record, "export");
  const train::Hyper hyper = train::hyper_of(record.spec);
  if (merge == Merge::kYes && hyper.adapter == "none")
    fail(ErrorCode::kInvalidInput, "run " + record.id.substr(0, 12) + " has no adapter to merge; export-model without --merged writes it");
  RunModel m = run_model(repo, record);
  return train::to_torch_archive(m.weights, hyper, static_cast<int>(record.summary.at("labels").size()),
                                 m.base.empty() ? nullptr : &m.base,
                                 merge == Merge::kYes ? train::Export::kMerged : train::Export::kAdapter);
}

uint64_t export_model_to(const Repo& repo, const RunRecord& record, const std::string& path, Merge merge) {
  const std::string bytes = export_model(repo, record, merge);
  write_file_atomic(path, bytes);
  return bytes.size();
}

std::vector<Prediction> predict(const Repo& repo, const RunRecord& record, const std::vector<std::string>& images,
                                const std::vector<std::string>& names) {
  require_kura_run(record, "predict with");
  std::vector<std::string> labels = record.summary.at("labels");
  train::Hyper hyper = train::hyper_of(record.spec);
  train::Images decoded = train::decode_files(images, names, hyper.image_size);
  RunModel m = run_model(repo, record);
  std::vector<Prediction> out;
  for (const auto& probs : train::classify(m.weights, hyper, static_cast<int>(labels.size()), decoded,
                                           m.base.empty() ? nullptr : &m.base)) {
    size_t best = static_cast<size_t>(std::max_element(probs.begin(), probs.end()) - probs.begin());
    out.push_back({labels[best], probs[best]});
  }
  return out;
}

}  // namespace kura
