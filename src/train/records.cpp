// Run records (table `runs`, "run/<id>" -> JSON) and the pinned CPU
// environment: the torch-free part of src/train, linked into the kura
// library so that reading runs does not load libtorch.
#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <set>
#include <utility>

#include "kura/error.hpp"
#include "kura/object_id.hpp"
#include "kura/repo.hpp"
#include "kura/train.hpp"
#include "train/scores.hpp"

namespace kura {

namespace {

const std::pair<const char*, const char*> kPinned[] = {
    {"ATEN_CPU_CAPABILITY", "avx2"},  // ATen's vectorised kernels (default: the best the CPU has)
    {"DNNL_MAX_CPU_ISA", "AVX2"},     // oneDNN's convolutions, likewise
    {"OMP_WAIT_POLICY", "passive"},   // busy-waiting threads crawl on a shared machine
};

// The spec's "cpu" key of a --cpu native run: the CPU kind it ran on.
constexpr const char* kNativeKey = "native";

struct CpuInfo {
  std::string vendor = "unknown", family = "?", model = "?";
  std::vector<std::string> flags;  // those kernels are chosen by, sorted
};

// The first processor of /proc/cpuinfo. Flags other than these do not
// change which kernels libtorch (ATen's dispatch) or oneDNN pick.
const CpuInfo& cpu_info() {
  static const CpuInfo info = [] {
    static const std::set<std::string> kKernelFlags = {
        "avx",         "avx2",        "fma",         "f16c",        "avx512f",   "avx512bw", "avx512vl", "avx512dq",
        "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni",    "amx_tile",  "amx_bf16", "amx_int8", "asimd",
        "sve"};
    CpuInfo c;
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    std::set<std::string> flags;
    bool seen_flags = false;
    while (std::getline(in, line)) {
      const size_t colon = line.find(':');
      if (colon == std::string::npos) {
        if (seen_flags) break;  // the end of the first processor
        continue;
      }
      std::string key = line.substr(0, colon), value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
      while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
      if (key == "vendor_id" || key == "CPU implementer") c.vendor = value;
      else if (key == "cpu family" || key == "CPU architecture") c.family = value;
      else if (key == "model" || key == "CPU part") c.model = value;
      else if (key == "flags" || key == "Features") {
        seen_flags = true;
        std::istringstream words(value);
        for (std::string w; words >> w;)
          if (kKernelFlags.count(w)) flags.insert(w);
      }
    }
    c.flags.assign(flags.begin(), flags.end());
    return c;
  }();
  return info;
}

bool has_flag(const std::string& flag) {
  const auto& f = cpu_info().flags;
  return std::find(f.begin(), f.end(), flag) != f.end();
}

// The test of ATen 1.13's compute_cpu_capability (DispatchStub.cpp), on
// /proc/cpuinfo's flags. (Debian's libtorch, left to itself, picks AVX2 on
// this project's AVX-512 machine: its cpuinfo library does not see AVX-512 there.)
std::string native_capability() {
  if (has_flag("avx512vl") && has_flag("avx512bw") && has_flag("avx512dq") && has_flag("fma")) return "avx512";
  if (has_flag("avx2") && has_flag("fma")) return "avx2";
  return "default";
}

// "key.sub" with both values for each leaf that differs.
void json_diff(const nlohmann::json& a, const nlohmann::json& b, const std::string& at, nlohmann::json& out) {
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (auto& [k, v] : a.items()) keys.insert(k);
    for (auto& [k, v] : b.items()) keys.insert(k);
    for (const auto& k : keys)
      json_diff(a.contains(k) ? a[k] : nlohmann::json(), b.contains(k) ? b[k] : nlohmann::json(),
                at.empty() ? k : at + "." + k, out);
  } else if (a != b) {
    out.push_back({{"key", at}, {"a", a}, {"b", b}});
  }
}

std::string commit_of(const RunRecord& r) {
  const nlohmann::json& c = r.spec.is_object() && r.spec.contains("commit") ? r.spec["commit"] : nlohmann::json();
  return c.is_string() ? c.get<std::string>() : std::string();
}

}  // namespace

std::vector<std::pair<std::string, std::string>> pinned_environment(CpuPin pin) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, fallback] : kPinned) {
    const char* set = std::getenv(name);
    out.emplace_back(name, set && *set ? set : fallback);
  }
  if (pin == CpuPin::kNative) {
    out[0].second = native_capability();
    out[1].second = "ALL";
  }
  return out;
}

bool environment_pinned(CpuPin pin) {
  for (const auto& [name, value] : pinned_environment(pin)) {
    const char* set = std::getenv(name.c_str());
    if (!set || value != set) return false;
  }
  return true;
}

std::string cpu_kind() {
  static const std::string kind = [] {
    const CpuInfo& c = cpu_info();
    std::string out = c.vendor + " family " + c.family + " model " + c.model + ":";
    for (const auto& f : c.flags) out += " " + f;
    return out;
  }();
  return kind;
}

std::vector<std::pair<std::string, std::string>> run_environment(const nlohmann::json& spec) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!spec.is_object() || !spec.contains("cpu") || !spec["cpu"].is_object()) return out;
  for (const auto& [name, value] : spec["cpu"].items()) {
    if (name == kNativeKey) {
      if (value != cpu_kind())
        fail(ErrorCode::kInvalidInput, "the run was trained with --cpu native on a CPU of another kind (" +
                                           value.get<std::string>() + "; this one is " + cpu_kind() +
                                           "), whose kernels may give other bits here; train it again on this machine, or "
                                           "train with the default AVX2 pin for a run that reproduces on any AVX2 CPU");
      continue;
    }
    out.emplace_back(name, value.get<std::string>());
  }
  return out;
}

nlohmann::json RunRecord::to_json() const {
  return {{"id", id},         {"spec", spec},       {"status", status},   {"started", started},
          {"finished", finished}, {"weights", weights}, {"metrics", metrics}, {"log", log},
          {"base_model", base_model}, {"summary", summary}};
}

RunRecord RunRecord::from_json(const nlohmann::json& j) {
  RunRecord r;
  r.id = j.at("id");
  r.spec = j.at("spec");
  r.status = j.at("status");
  r.started = j.at("started");
  r.finished = j.at("finished");
  r.weights = j.at("weights");
  r.metrics = j.at("metrics");
  r.log = j.at("log");
  r.base_model = j.value("base_model", "");
  r.summary = j.at("summary");
  return r;
}

namespace {

// The epochs of an external run's metrics: objects of numbers (or null).
void check_epochs(const nlohmann::json& metrics) {
  if (!metrics.is_object()) fail(ErrorCode::kInvalidInput, "record_run: metrics must be a dict (JSON object)");
  if (!metrics.contains("epochs")) return;
  const nlohmann::json& epochs = metrics["epochs"];
  if (!epochs.is_array()) fail(ErrorCode::kInvalidInput, "record_run: metrics[\"epochs\"] must be a list of dicts, one per epoch");
  for (size_t i = 0; i < epochs.size(); ++i) {
    const std::string where = "record_run: metrics[\"epochs\"][" + std::to_string(i) + "]";
    if (!epochs[i].is_object()) fail(ErrorCode::kInvalidInput, where + " must be a dict of numbers, not " + epochs[i].dump());
    for (const auto& [key, value] : epochs[i].items()) {
      if (!value.is_number() && !value.is_null())
        fail(ErrorCode::kInvalidInput, where + "[\"" + key + "\"] must be a number, not " + value.dump());
    }
  }
}

}  // namespace

RunRecord record_external_run(Repo& repo, const ExternalRun& run) {
  if (run.model.empty()) fail(ErrorCode::kInvalidInput, "record_run: model must name what was trained (\"resnet18\")");
  if (run.weights.empty()) fail(ErrorCode::kInvalidInput, "record_run: weights is empty; give the bytes (or the file) the script saved");
  if (!run.settings.is_object()) fail(ErrorCode::kInvalidInput, "record_run: settings must be a dict (JSON object)");
  if (run.status != "complete" && run.status != "interrupted")
    fail(ErrorCode::kInvalidInput, "record_run: status is 'complete' or 'interrupted', not '" + run.status + "'");
  check_epochs(run.metrics);
  if (run.metrics.contains("labels") && !run.metrics["labels"].is_array())
    fail(ErrorCode::kInvalidInput, "record_run: metrics[\"labels\"] must be a list of the class names");
  const std::string commit = repo.resolve(run.commit.empty() ? "HEAD" : run.commit).id;
  std::vector<std::string> files = run.files;
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  for (const std::string& f : files)
    if (!repo.file_at(commit, f))
      fail(ErrorCode::kInvalidInput, "record_run: files names '" + f + "', which is not in commit " + commit.substr(0, 12));

  nlohmann::json settings = run.settings;
  settings["model"] = run.model;
  nlohmann::json spec = {{"recipe", "external"}, {"commit", commit}, {"files", files},
                         {"settings", settings}, {"kura_version", version()}, {"base_model", nullptr}};
  Store& store = repo.store();
  const ObjectId weights = store.put_object(run.weights);
  RunRecord r;
  r.id = sha256(spec.dump() + "\n" + weights.hex()).hex();
  r.spec = spec;
  r.status = run.status;
  r.finished = run.finished > 0 ? run.finished : static_cast<int64_t>(std::time(nullptr));
  r.started = run.started > 0 ? run.started : r.finished;
  if (r.started > r.finished) fail(ErrorCode::kInvalidInput, "record_run: started is after finished");
  nlohmann::json metrics = run.metrics;
  if (!metrics.contains("epochs")) metrics["epochs"] = nlohmann::json::array();
  if (!metrics.contains("labels")) metrics["labels"] = nlohmann::json::array();
  if (!metrics.contains("confusion")) metrics["confusion"] = nlohmann::json::array();
  if (!metrics.contains("counts")) metrics["counts"] = nlohmann::json::object();
  r.weights = weights.hex();
  r.metrics = store.put_object(metrics.dump(2)).hex();
  r.log = store.put_object(run.log).hex();
  r.summary = {{"labels", metrics["labels"]},
               {"counts", metrics["counts"]},
               {"epochs_done", metrics["epochs"].size()},
               {"seconds", r.finished - r.started}};
  if (!metrics["epochs"].empty())
    for (const auto& [key, value] : metrics["epochs"].back().items())
      if (key != "epoch" && !r.summary.contains(key)) r.summary[key] = value;
  store.sync_objects();  // outputs first, then the record that names them
  store.put(Table::kRuns, "run/" + r.id, r.to_json().dump(), Sync::kYes);
  return r;
}

nlohmann::json run_json(const RunRecord& record) {
  nlohmann::json j = record.to_json();
  j["weights_sha256"] = record.weights;
  return j;
}

bool external_run(const RunRecord& record) { return record.spec.value("recipe", "") == "external"; }

void require_kura_run(const RunRecord& record, const std::string& what) {
  if (external_run(record))
    fail(ErrorCode::kInvalidInput, "run " + record.id.substr(0, 12) + " was trained outside kura (recorded by " +
                                       "kura.torch.record_run); kura cannot " + what +
                                       " it. Its weights are object " + record.weights.substr(0, 12) +
                                       " (kura show " + record.weights.substr(0, 12) + " > weights.pt writes them)");
}

std::vector<RunRecord> list_runs(const Repo& repo) {
  std::vector<RunRecord> out;
  const_cast<Repo&>(repo).store().scan(Table::kRuns, "run/", [&](std::string_view key, std::string_view value) {
    try {
      out.push_back(RunRecord::from_json(nlohmann::json::parse(value)));
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorCode::kCorrupt, "run record " + std::string(key.substr(4)) + " cannot be read: " + e.what());
    }
    return true;
  });
  std::stable_sort(out.begin(), out.end(), [](const RunRecord& a, const RunRecord& b) { return a.finished > b.finished; });
  return out;
}

RunRecord find_run(const Repo& repo, const std::string& id_or_prefix) {
  if (id_or_prefix.size() < 4 || id_or_prefix.find_first_not_of("0123456789abcdef") != std::string::npos)
    fail(ErrorCode::kInvalidInput, "a run id is at least 4 lower-case hex digits, not '" + id_or_prefix + "'");
  std::vector<RunRecord> found;
  for (auto& r : list_runs(repo))
    if (r.id.rfind(id_or_prefix, 0) == 0) found.push_back(std::move(r));
  if (found.empty()) fail(ErrorCode::kNotFound, "no run " + id_or_prefix + " (kura runs lists them)");
  if (found.size() > 1) fail(ErrorCode::kInvalidInput, "run id " + id_or_prefix + " is ambiguous; give more digits");
  return found[0];
}

nlohmann::json run_metrics(const Repo& repo, const RunRecord& record) {
  auto id = ObjectId::from_hex(record.metrics);
  if (!id) fail(ErrorCode::kCorrupt, "run " + record.id + " names a bad metrics object");
  return nlohmann::json::parse(const_cast<Repo&>(repo).store().read_object(*id));
}

std::vector<nlohmann::json> list_evals(const Repo& repo, const std::string& model_id) {
  std::vector<nlohmann::json> out;
  const_cast<Repo&>(repo).store().scan(Table::kRuns, "eval/" + model_id + "/", [&](std::string_view key, std::string_view value) {
    nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail(ErrorCode::kCorrupt, "eval record " + std::string(key) + " is not JSON");
    out.push_back(std::move(j));
    return true;
  });
  // In the order they were made: two evals within one second are told apart
  // by created_ns (records before it have only seconds, and sort first in a tie).
  const auto made = [](const nlohmann::json& j) {
    return std::pair(j.value("created", int64_t{0}), j.value("created_ns", int64_t{0}));
  };
  std::stable_sort(out.begin(), out.end(),
                   [&](const nlohmann::json& a, const nlohmann::json& b) { return made(a) < made(b); });
  return out;
}

nlohmann::json eval_summary(const nlohmann::json& e) {
  return {{"key", e.value("key", "")},
          {"commit", e.value("commit", "")},
          {"split", e.value("split", "")},
          {"accuracy", e.value("accuracy", 0.0)},
          {"counts", e.value("counts", nlohmann::json::object())},
          {"created", e.value("created", int64_t{0})}};
}

std::vector<ClassScore> class_scores(const std::vector<std::vector<uint64_t>>& confusion) {
  const size_t n = confusion.size();
  std::vector<ClassScore> out(n);
  for (size_t c = 0; c < n; ++c) {
    uint64_t predicted = 0;
    for (size_t k = 0; k < n; ++k) out[c].support += confusion[c][k], predicted += confusion[k][c];
    const uint64_t tp = confusion[c][c];
    ClassScore& s = out[c];
    s.precision = predicted ? static_cast<double>(tp) / static_cast<double>(predicted) : 0.0;
    s.recall = s.support ? static_cast<double>(tp) / static_cast<double>(s.support) : 0.0;
    s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0.0;
  }
  return out;
}

namespace {

nlohmann::json number_or_null(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key] : nlohmann::json();
}

// {a, b, delta}; delta is null unless both sides are numbers.
nlohmann::json side_by_side(const nlohmann::json& a, const nlohmann::json& b) {
  nlohmann::json delta;
  if (a.is_number() && b.is_number()) delta = b.get<double>() - a.get<double>();
  return {{"a", a}, {"b", b}, {"delta", delta}};
}

// Per-class scores of a run's metrics (labels and confusion matrix), keyed
// by label; empty when the metrics have no well-formed matrix.
std::map<std::string, nlohmann::json> class_scores(const nlohmann::json& metrics) {
  if (!metrics.is_object() || !metrics.contains("labels") || !metrics.contains("confusion")) return {};
  const nlohmann::json &labels = metrics["labels"], &confusion = metrics["confusion"];
  if (!labels.is_array() || !confusion.is_array() || confusion.size() != labels.size()) return {};
  const size_t n = labels.size();
  std::vector<std::vector<uint64_t>> matrix(n);
  for (size_t c = 0; c < n; ++c) {
    if (!labels[c].is_string() || !confusion[c].is_array() || confusion[c].size() != n) return {};
    for (const auto& cell : confusion[c]) matrix[c].push_back(cell.get<uint64_t>());
  }
  std::map<std::string, nlohmann::json> out;
  const std::vector<ClassScore> scores = kura::class_scores(matrix);
  for (size_t c = 0; c < n; ++c)
    out[labels[c]] = {{"precision", scores[c].precision},
                      {"recall", scores[c].recall},
                      {"f1", scores[c].f1},
                      {"support", scores[c].support}};
  return out;
}

nlohmann::json metrics_or_empty(const Repo& repo, const RunRecord& r) {
  if (!ObjectId::from_hex(r.metrics)) return nlohmann::json::object();
  return run_metrics(repo, r);
}

// The scores of the two runs side by side: the last epoch's losses and
// accuracies (an external run's summary has them when its script named
// them so), each class's F1, and the evals of each, paired by (commit, split).
void compare_scores(const Repo& repo, const RunRecord& a, const RunRecord& b, nlohmann::json& out) {
  const nlohmann::json ma = metrics_or_empty(repo, a), mb = metrics_or_empty(repo, b);
  auto last_epoch = [](const nlohmann::json& m, const RunRecord& r) {
    if (m.contains("epochs") && m["epochs"].is_array() && !m["epochs"].empty()) return m["epochs"].back();
    return r.summary;
  };
  const nlohmann::json ea = last_epoch(ma, a), eb = last_epoch(mb, b);
  nlohmann::json scores = nlohmann::json::object();
  for (const char* key : {"validation_accuracy", "validation_loss", "train_accuracy", "train_loss"})
    scores[key] = side_by_side(number_or_null(ea, key), number_or_null(eb, key));
  out["scores"] = scores;

  const auto ca = class_scores(ma), cb = class_scores(mb);
  std::vector<std::string> labels;
  for (const auto& l : {ma.value("labels", nlohmann::json::array()), mb.value("labels", nlohmann::json::array())})
    for (const auto& x : l)
      if (x.is_string() && std::find(labels.begin(), labels.end(), x.get<std::string>()) == labels.end()) labels.push_back(x);
  nlohmann::json classes = nlohmann::json::array();
  for (const auto& l : labels) {
    auto f1 = [&](const std::map<std::string, nlohmann::json>& m) { return m.count(l) ? m.at(l)["f1"] : nlohmann::json(); };
    auto support = [&](const std::map<std::string, nlohmann::json>& m) { return m.count(l) ? m.at(l)["support"] : nlohmann::json(); };
    nlohmann::json c = side_by_side(f1(ca), f1(cb));
    c["label"] = l;
    c["support"] = {{"a", support(ca)}, {"b", support(cb)}};
    classes.push_back(std::move(c));
  }
  out["classes"] = classes;

  auto summary = [](const nlohmann::json& e) {
    return nlohmann::json{{"key", e.value("key", "")}, {"commit", e.value("commit", "")}, {"split", e.value("split", "")},
                          {"accuracy", number_or_null(e, "accuracy")}, {"counts", e.value("counts", nlohmann::json::object())}};
  };
  nlohmann::json evals = {{"a", nlohmann::json::array()}, {"b", nlohmann::json::array()}, {"paired", nlohmann::json::array()}};
  const auto la = list_evals(repo, a.id), lb = list_evals(repo, b.id);
  for (const auto& e : la) evals["a"].push_back(summary(e));
  for (const auto& e : lb) evals["b"].push_back(summary(e));
  for (const auto& x : la)
    for (const auto& y : lb)
      if (x.value("commit", "") == y.value("commit", "") && x.value("split", "") == y.value("split", "")) {
        nlohmann::json p = side_by_side(number_or_null(x, "accuracy"), number_or_null(y, "accuracy"));
        p["commit"] = x.value("commit", "");
        p["split"] = x.value("split", "");
        evals["paired"].push_back(std::move(p));
      }
  out["evals"] = evals;
}

}  // namespace

nlohmann::json compare_runs(const Repo& repo, const RunRecord& a, const RunRecord& b) {
  nlohmann::json spec = nlohmann::json::array(), data = nlohmann::json::array(), metrics = nlohmann::json::array();
  json_diff(a.spec, b.spec, "", spec);
  const std::string ca = commit_of(a), cb = commit_of(b);
  if (ca != cb && !ca.empty() && !cb.empty())
    for (const auto& c : repo.changes(ca, cb)) data.push_back({{"path", c.path}, {"change", change_name(c.change)}});
  json_diff(a.summary, b.summary, "", metrics);
  nlohmann::json out = {{"a", a.id}, {"b", b.id}, {"spec", spec}, {"data", data}, {"metrics", metrics}};
  compare_scores(repo, a, b, out);
  return out;
}

}  // namespace kura
