// Training runs: pinned, bit-for-bit reproducible libtorch training against a commit.
//
// A run is described by its spec: the commit, the recipe, every
// hyper-parameter with its default filled in, the seed, the thread count, the
// base model (an object, so pinned by hash), the kura and libtorch versions
// and the CPU kernel settings. The spec is canonical JSON (sorted keys, no
// spaces) and the run id is its SHA-256, so the same request against the same
// commit on the same kernels is the same run. The run's outputs (weights,
// metrics, log) are objects in the store; the run record (table `runs`, key
// "run/<id>") names them and keeps them, the base model and the commit alive
// through gc. docs/train.md documents the spec, the record and the weights
// format.
//
// Data comes from the commit, never from the working folder: train.jsonl and
// validation.jsonl (OpenAI vision chat format: the image in a user message as
// a data URI or a path relative to the file, the label the assistant's
// answer), or images in folders named by their label (train/<label>/x.jpg and
// validation/<label>/x.jpg). Examples the commit's check report excludes are
// skipped and counted; a commit whose report has errors is refused unless the
// request allows it (the spec records that).
//
// Reproducibility depends on the process: libtorch picks its CPU kernels
// (ATEN_CPU_CAPABILITY, DNNL_MAX_CPU_ISA) and OpenMP its waiting policy when
// it starts, so these must be in the environment before the process starts.
// pinned_environment() lists them; a front end re-executes itself with them
// set (cli/cmd_train.cpp), and execute() refuses to run when they differ from
// the spec's.
//
// A run is three steps so that the repository lock is not held while the
// model trains: prepare_run (reads the commit, decodes the images), execute
// (trains; needs no repository) and record_run (stores outputs and record).
// Errors: Error(kInvalidInput) for a bad request or bad data (naming file,
// line and field), kCheckFailed for a commit whose checks found errors,
// kNotFound for an unknown run or revision. Not thread-safe: one run per
// process at a time (libtorch's thread settings are process-wide).
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kura {

class Repo;

// Which CPU kernels a run pins (docs/train.md, Reproducibility).
// kAvx2, the default: libtorch's AVX2 kernels, so that the run reproduces
// bit for bit on any AVX2 x86-64 machine (AVX-512 or not). kNative: the best
// kernels this CPU has (AVX-512 here, when it has them), faster, but the run
// reproduces only on a CPU of the same kind (cpu_kind()); the spec records
// the kind and reproduce refuses another.
enum class CpuPin { kAvx2, kNative };

// What the user asks for; prepare_run() turns it into a spec.
struct RunRequest {
  std::string rev = "HEAD";
  std::string recipe = "classify";
  // Hyper-parameters and data settings by name (docs/train.md lists them
  // with their defaults), from --config and --set; values are JSON.
  nlohmann::json settings = nlohmann::json::object();
  uint64_t seed = 0;
  unsigned threads = 0;            // 0: one per core (the number is recorded)
  std::string init_file;           // a TorchScript file; stored as an object
  std::string init_object;         // or an object already in the store (hex id)
  bool allow_check_errors = false;
  // Processes training together, data parallel (recorded in the spec: the
  // same run with another world size is another run with other weights).
  unsigned world = 1;
  // The kernels pinned (recorded in the spec's "cpu"); the process must
  // have been started with pinned_environment(cpu).
  CpuPin cpu = CpuPin::kAvx2;
};

// Environment variables a run needs before the process starts, with the
// values this process would record. kAvx2: the caller's own setting when
// present, else the defaults (avx2, AVX2, passive). kNative:
// ATEN_CPU_CAPABILITY the widest kernels this CPU runs (avx512 with
// AVX-512 F, BW, VL, DQ and FMA, else avx2 with AVX2 and FMA, else default:
// what ATen's own test asks for, from /proc/cpuinfo), DNNL_MAX_CPU_ISA ALL,
// OMP_WAIT_POLICY as for kAvx2.
std::vector<std::pair<std::string, std::string>> pinned_environment(CpuPin pin = CpuPin::kAvx2);
// True when the process environment already holds pinned_environment(pin).
bool environment_pinned(CpuPin pin = CpuPin::kAvx2);
// What a native run's kernels depend on, in words: the CPU's vendor, family
// and model and the instruction sets libtorch and oneDNN choose kernels by
// ("AuthenticAMD family 25 model 17: avx2 avx512bw avx512dq avx512f
// avx512vl fma"). Read from /proc/cpuinfo once.
std::string cpu_kind();
// The environment the run of `spec` needs (its "cpu" object without the
// CPU kind). Error(kInvalidInput) when the spec is a --cpu native run made on
// a CPU of another kind than this one, naming both: its kernels may give
// other bits here.
std::vector<std::pair<std::string, std::string>> run_environment(const nlohmann::json& spec);

struct EpochMetrics {
  int epoch = 0;                    // 1-based
  double train_loss = 0, train_accuracy = 0;
  double validation_loss = 0, validation_accuracy = 0;  // 0 when there is no validation set
  double images_per_second = 0, seconds = 0;
};

// Counts of what the data loader met.
struct DataCounts {
  uint64_t train = 0, validation = 0;              // examples used
  uint64_t excluded = 0;                           // skipped: the check report excludes them
  uint64_t validation_unknown_label = 0;           // skipped: label not seen in training
  uint64_t images_decoded = 0;
};

// A spec and the decoded data, ready to train. Holds the data in memory.
class PreparedRun {
 public:
  PreparedRun();
  ~PreparedRun();
  PreparedRun(PreparedRun&&) noexcept;
  PreparedRun& operator=(PreparedRun&&) noexcept;

  const nlohmann::json& spec() const;
  std::string canonical_spec() const;  // the bytes hashed for the run id
  std::string id() const;              // SHA-256 hex of canonical_spec()
  const std::vector<std::string>& labels() const;  // class index -> label, sorted
  const DataCounts& counts() const;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads the commit's data and the base model; throws on a bad request or bad
// data, and kCheckFailed for a commit with check errors (unless allowed).
// Commits made without checks are checked now (the report is not stored).
PreparedRun prepare_run(Repo& repo, const RunRequest& request);
// Rebuilds the run from a stored spec alone (for reproduce).
PreparedRun prepare_from_spec(Repo& repo, const nlohmann::json& spec);

struct TrainProgress {
  int epoch = 0, epochs = 0;
  uint64_t images = 0, images_total = 0;  // within the epoch
  double loss = 0, accuracy = 0;          // running, within the epoch
  double images_per_second = 0, seconds_left = 0;
};

struct TrainCallbacks {
  std::function<void(const TrainProgress&)> progress;  // a few times a second
  std::function<void(const EpochMetrics&)> epoch_done;
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by SIGINT): stop after the batch
};

enum class RunStatus { kComplete, kInterrupted };
const char* run_status_name(RunStatus status);

struct RunOutcome {
  RunStatus status = RunStatus::kComplete;
  std::vector<EpochMetrics> epochs;
  std::vector<std::vector<uint64_t>> confusion;  // [true][predicted], validation set
  std::string weights;        // the weights file (docs/train.md), bytes
  std::string weights_sha;    // its SHA-256 hex (= the weights object id)
  std::string log;            // the run's log text
  double seconds = 0;
  uint64_t peak_rss_bytes = 0;
  uint64_t parameters = 0, trainable_parameters = 0;  // of the network; those the optimiser steps
};

// Where the processes of a data-parallel run meet: process 0 serves a c10d
// TCP store at host:port, the others connect to it.
struct Rendezvous {
  std::string host;
  uint16_t port = 0;
  unsigned rank = 0, world = 1;
};
// "tcp://host:port" with the rank and world size; Error(kInvalidInput) on a
// malformed address or a rank outside [0, world).
Rendezvous parse_rendezvous(const std::string& url, unsigned rank, unsigned world);

// The processes of one data-parallel run (docs/train.md): libtorch's c10d
// TCP store and a Gloo process group over it. Joining blocks until every
// process has joined (up to 30 minutes); Error(kIo) when the address cannot
// be served or reached.
class Cluster {
 public:
  explicit Cluster(const Rendezvous& rendezvous);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;
  unsigned rank() const;
  unsigned world() const;
  // A value in the store, for every process to fetch (waits until it is set).
  void publish(const std::string& key, const std::string& value);
  std::string fetch(const std::string& key);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A TCP port on the loopback that nothing listens on now (a data-parallel
// run on one machine meets there). Error(kIo) when no socket can be bound.
uint16_t free_loopback_port();

// Runs `program` with `args` (argv[0] included) as `world` processes meeting
// on a free loopback port: each gets "--rendezvous tcp://127.0.0.1:PORT
// --world W --rank R" appended. The processes are in their own process
// groups; a SIGINT or SIGTERM of this process is passed on to each once.
// When one fails (killed, or an exit code other than 0 and 130, the clean
// stop after Ctrl-C) while others still run, `on_failure` is told its rank
// and code and the others are sent SIGTERM. Returns the first failure's
// code, else process 0's. Blocks until all have ended; not thread-safe (it
// installs signal handlers for its duration). Error(kInvalidInput) for a
// world outside [1, 1024], Error(kIo) when a process cannot be started.
int launch_local(const std::string& program, const std::vector<std::string>& args, unsigned world,
                 const std::function<void(unsigned rank, int code)>& on_failure = {});

// One run prepared by every process of a cluster (docs/train.md): process 0
// calls `prepare` (with the repository open for writing) and publishes the
// spec; the others fetch it and call `rebuild` (prepare_from_spec on a
// repository opened read-only), so all train the same run. When process 0
// fails it publishes the reason and the others fail with
// Error(kInvalidInput) "process 0 could not prepare the run: ...".
PreparedRun prepare_on_cluster(Cluster& cluster, const std::function<PreparedRun()>& prepare,
                               const std::function<PreparedRun(const nlohmann::json& spec)>& rebuild);

// Trains. Needs no repository. Error(kInvalidInput) when the process
// environment does not match the spec's CPU settings (see above). With a
// cluster, every process of it calls execute with the same spec; each takes
// its fixed share of every batch, gradients are averaged over the processes
// and all end with the same weights (process 0's outcome is the run's).
RunOutcome execute(const PreparedRun& run, const TrainCallbacks& callbacks, Cluster* cluster = nullptr);

// A stored run.
struct RunRecord {
  std::string id;
  nlohmann::json spec;
  std::string status;          // "complete", "interrupted"
  int64_t started = 0, finished = 0;  // unix seconds
  std::string weights, metrics, log;  // object ids (hex)
  std::string base_model;      // object id or empty
  nlohmann::json summary;      // labels, counts, final metrics
  nlohmann::json to_json() const;
  static RunRecord from_json(const nlohmann::json& j);
};

// Stores the outputs and the record (replacing an earlier record of the same
// run). Returns the record.
RunRecord record_run(Repo& repo, const PreparedRun& run, const RunOutcome& outcome, int64_t started);
// A run trained outside kura, by a script that read a commit through the
// Python package (kura.torch.record_run, docs/python.md), for `kura runs` to
// list beside kura's own. Its spec is {"recipe": "external", "commit",
// "files", "settings" (the script's, with "model"), "kura"}; its id is the
// SHA-256 of that canonical spec and the weights' object id, so two runs
// of one script that ended with different weights are two runs. kura can
// neither re-train nor load it: reproduce, export-model and predict refuse
// it (require_kura_run).
struct ExternalRun {
  std::string commit;               // a revision; recorded as its full id
  std::string model;                // what was trained, in the script's words ("resnet18")
  nlohmann::json settings = nlohmann::json::object();  // the script's hyper-parameters
  std::vector<std::string> files;   // the data files it read; each must be in the commit
  std::string weights;              // the weights file's bytes, in the script's format
  // Optional: {"epochs": [{"epoch": 1, "train_loss": ...}, ...], "labels": [...],
  // "counts": {...}}; numbers only in an epoch.
  nlohmann::json metrics = nlohmann::json::object();
  std::string log;
  std::string status = "complete";  // or "interrupted"
  int64_t started = 0, finished = 0;  // unix seconds; finished 0: now
};
// Error(kInvalidInput) naming the field for a bad run (no weights, a file
// not in the commit, an epoch entry that is not numbers), kNotFound for an
// unknown commit.
RunRecord record_external_run(Repo& repo, const ExternalRun& run);
// True for a run that record_external_run stored.
bool external_run(const RunRecord& record);
// Error(kInvalidInput) for an external run: kura cannot `what` it.
void require_kura_run(const RunRecord& record, const std::string& what);
// A run as `kura runs --json` prints it (and the Python package returns it):
// the record, plus "weights_sha256" (the weights' object id is their SHA-256).
nlohmann::json run_json(const RunRecord& record);
// All runs, newest first.
std::vector<RunRecord> list_runs(const Repo& repo);
// A run by full id or unique prefix (at least 4 hex digits).
RunRecord find_run(const Repo& repo, const std::string& id_or_prefix);
// The metrics object of a run (per-epoch metrics, confusion matrix, labels).
nlohmann::json run_metrics(const Repo& repo, const RunRecord& record);
// What differs between two runs, as `kura run diff --json` prints it and
// the web view shows it: {"a", "b" (the ids), "spec": [{key, a, b}], "data":
// [{path, change}], "metrics": [{key, a, b}]}. `spec` and `metrics` (the
// records' summaries) name each leaf that differs by its dotted key
// ("settings.epochs"; a key one side lacks has null there); `data` lists the
// files that differ between the runs' commits, empty for the same commit.
// Side by side, each {a, b, delta (b - a, null unless both are numbers)}:
// "scores" {validation_accuracy, validation_loss, train_accuracy,
// train_loss} after the last epoch; "classes" [{label, a, b, delta (F1 on
// the validation set, from each run's confusion matrix), support: {a, b}}]
// over the labels of both (null where a run lacks the label); "evals" {a,
// b (each run's eval records: key, commit, split, accuracy, counts),
// paired: [{commit, split, a, b, delta}] (accuracy, where both have the
// same commit and split)}. External runs compare like any other. Error(kNotFound) when a commit of
// either run is no longer in the repository.
nlohmann::json compare_runs(const Repo& repo, const RunRecord& a, const RunRecord& b);

struct WeightsComparison {
  bool identical = false;
  std::string first_difference;  // tensor name; empty when identical
  double max_abs_difference = 0;
  uint64_t elements_differing = 0;
  std::string detail;            // shape or name mismatch, in words
};
// Compares two weights files tensor by tensor, in order.
WeightsComparison compare_weights(const std::string& a, const std::string& b);

// Rebuilds a stored run for `kura reproduce`: Error(kInvalidInput) for an
// external or an interrupted run, Error(kCorrupt) when its spec no longer
// hashes to its id or it names a bad weights object. Sets *recorded_weights
// to the recorded weights file, for compare_weights with the new ones.
PreparedRun prepare_reproduction(Repo& repo, const RunRecord& record, std::string* recorded_weights);

// What a run's model is made of: its weights file and, for an adapter run
// (settings.adapter "lora" or "head"), the base model's TorchScript bytes.
struct RunModel {
  std::string weights;
  std::string base;  // empty for a run without an adapter
};
// Error(kCorrupt) when the record names a bad or missing object.
RunModel run_model(const Repo& repo, const RunRecord& record);

enum class Merge { kNo, kYes };
// The model of `record`. A run without an adapter: its network as a libtorch
// archive (torch::save; loads with torch::load in C++ and torch.jit.load in
// Python). An adapter run: its weights file, the adapters and the head only
// (Merge::kNo), or with Merge::kYes the whole network with the adapters
// merged into the base's kernels, as a libtorch archive (what `kura eval
// --model` and `--init` take). Error(kInvalidInput) for kYes on a run
// without an adapter.
std::string export_model(const Repo& repo, const RunRecord& record, Merge merge = Merge::kNo);
// export_model into the file `path`, written crash-safely (a temporary
// beside it, fsync, rename). Returns the bytes written; Error(kIo) naming
// the path when it cannot be written.
uint64_t export_model_to(const Repo& repo, const RunRecord& record, const std::string& path, Merge merge = Merge::kNo);

struct Prediction {
  std::string label;
  double confidence = 0;
};
// Classifies images (file bytes; `names` name them in messages) with a run's weights.
std::vector<Prediction> predict(const Repo& repo, const RunRecord& record, const std::vector<std::string>& images,
                                const std::vector<std::string>& names);

// Evaluation of a model on a commit's data (`kura eval`, docs/train.md).
// The model is a run (its weights, network and labels) or a TorchScript
// file holding a whole classify network (as export-model writes it), whose
// class i is the i-th of `labels` (default: the sorted labels of the
// commit's training data, as training numbers them).
struct EvalRequest {
  std::string run;              // a run id or prefix; or
  std::string model_file;       // a model file (path)
  std::vector<std::string> labels;  // for a model file; empty: from the commit
  int image_size = 32;          // for a model file (a run's comes from its spec)
  std::string rev = "HEAD";
  // "validation" (the run's validation_file / validation_dir, default
  // validation.jsonl / validation/), "test" (test.jsonl / test/), or a
  // path in the commit: a JSONL table or a folder of <label>/ images.
  std::string split = "validation";
  unsigned threads = 0;         // 0: one per core
};

struct Evaluation {
  // The eval record, JSON (docs/train.md): key, model, run, commit, split,
  // source, labels, counts, accuracy, classes (per-class precision, recall,
  // F1, support), confusion [true][predicted], wrong (file, line, image,
  // true, predicted, confidence), created.
  nlohmann::json record;
  bool reused = false;  // the record was there already: nothing was computed
};

// Evaluates, or returns the stored record of the same (model, commit,
// split): table `runs`, key "eval/<model id>/<commit id>/<split>", written
// with sync. Examples the commit's checks exclude are skipped and counted,
// as are those whose label the model does not know. Error(kNotFound) for an
// unknown run or revision, Error(kInvalidInput) for an external run, a model
// file that is not TorchScript or does not fit, a split with no examples or
// bad data (naming file, line and field).
Evaluation evaluate_model(Repo& repo, const EvalRequest& request);
// The eval records of a model (a run id, or a model file's model id), oldest
// first; the torch-free part, for `kura runs` and `kura run show`.
std::vector<nlohmann::json> list_evals(const Repo& repo, const std::string& model_id);
// One eval record as `kura runs --json` and Python's Repo.runs() list it:
// key, commit, split, accuracy, counts, created.
nlohmann::json eval_summary(const nlohmann::json& record);

// "1.13.1"
std::string torch_version();

}  // namespace kura
