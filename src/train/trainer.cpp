// The training loop: seeded initialisation, a seeded shuffle per epoch, Adam,
// and evaluation on the validation set after each epoch; with a cluster, the
// same loop in every process over its share of each batch, gradients averaged
// with c10d's Gloo process group.
#include <sys/resource.h>

// Debian's libtorch is built with Gloo; its process group's header is behind this macro.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "kura/error.hpp"
#include "kura/object_id.hpp"
#include "train/net.hpp"

namespace kura {

struct Cluster::Impl {
  unsigned rank = 0, world = 1;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

namespace {
constexpr auto kClusterTimeout = std::chrono::minutes(30);

[[noreturn]] void fail_cluster(const Rendezvous& r, const std::string& what, const std::exception& e) {
  std::string message = e.what();
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) message = c->what_without_backtrace();
  fail(ErrorCode::kIo, "process " + std::to_string(r.rank) + " of " + std::to_string(r.world) + " could not " + what +
                           " at tcp://" + r.host + ":" + std::to_string(r.port) + ": " + message);
}
}  // namespace

Cluster::Cluster(const Rendezvous& r) : impl_(std::make_unique<Impl>()) {
  impl_->rank = r.rank;
  impl_->world = r.world;
  try {
    c10d::TCPStoreOptions options;
    options.port = r.port;
    options.isServer = r.rank == 0;
    options.numWorkers = r.world;
    options.waitWorkers = true;
    options.timeout = kClusterTimeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(r.host, options);
    impl_->store = c10::make_intrusive<c10d::PrefixStore>("kura", tcp);
  } catch (const std::exception& e) {
    fail_cluster(r, r.rank == 0 ? "serve the rendezvous" : "reach the rendezvous", e);
  }
  try {
    auto options = c10d::ProcessGroupGloo::Options::create(kClusterTimeout);
    // On one machine the processes talk over the loopback; across machines,
    // over the address this machine's name resolves to.
    const bool local = r.host == "127.0.0.1" || r.host == "localhost" || r.host == "::1";
    options->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname(r.host)
                                     : c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 1;
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, static_cast<int>(r.rank),
                                                               static_cast<int>(r.world), options);
  } catch (const std::exception& e) {
    fail_cluster(r, "join the Gloo process group", e);
  }
}

Cluster::~Cluster() = default;
unsigned Cluster::rank() const { return impl_->rank; }
unsigned Cluster::world() const { return impl_->world; }

void Cluster::publish(const std::string& key, const std::string& value) {
  try {
    impl_->store->set("value/" + key, std::vector<uint8_t>(value.begin(), value.end()));
  } catch (const std::exception& e) {
    fail(ErrorCode::kIo, "publish " + key + " to the other processes: " + e.what());
  }
}

std::string Cluster::fetch(const std::string& key) {
  try {
    auto v = impl_->store->get("value/" + key);
    return std::string(v.begin(), v.end());
  } catch (const std::exception& e) {
    fail(ErrorCode::kIo, "fetch " + key + " from process 0 (did it stop?): " + e.what());
  }
}

}  // namespace kura

namespace kura::train {

namespace {

// Sums `t` over the processes of the cluster, in place (the same bits in every process).
void all_sum(Cluster& cluster, torch::Tensor& t) {
  std::vector<torch::Tensor> tensors{t};
  cluster.impl_->group->allreduce(tensors)->wait();
}

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The images as normalised floats: (x / 255 - 0.5) / 0.5.
torch::Tensor to_float(const Images& images) {
  auto bytes = torch::from_blob(const_cast<uint8_t*>(images.pixels.data()),
                                {static_cast<int64_t>(images.count()), 3, images.size, images.size}, torch::kUInt8);
  return bytes.to(torch::kFloat).div_(127.5).sub_(1.0);
}

// Fisher-Yates with the engine's raw output: the same order on every
// platform (std::shuffle and uniform_int_distribution are not specified bit
// for bit).
std::vector<int64_t> shuffled(size_t n, std::mt19937_64& rng) {
  std::vector<int64_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<int64_t>(i);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

void pin_threads(unsigned threads) {
  torch::set_num_threads(static_cast<int>(threads));
  static bool interop_set = false;
  if (!interop_set) {
    interop_set = true;
    try {
      at::set_num_interop_threads(1);
    } catch (const c10::Error&) {
      // Already started by an earlier call in this process: it is not used by this loop.
    }
  }
}

struct Evaluation {
  double loss = 0, accuracy = 0;
  std::vector<std::vector<uint64_t>> confusion;
};

// The validation set, or with a cluster this process's block of it
// (examples [n * rank / world, n * (rank + 1) / world)), the sums then added
// over the processes.
Evaluation evaluate(Classifier& model, int from_stage, const torch::Tensor& x, const std::vector<int64_t>& labels,
                    int classes, Cluster* cluster) {
  Evaluation e;
  e.confusion.assign(classes, std::vector<uint64_t>(classes, 0));
  const int64_t n = x.size(0);
  if (n == 0) return e;
  torch::NoGradGuard no_grad;
  model.eval();
  auto y = torch::from_blob(const_cast<int64_t*>(labels.data()), {n}, torch::kLong);
  double loss = 0;
  uint64_t correct = 0;
  const int64_t world = cluster ? cluster->world() : 1, rank = cluster ? cluster->rank() : 0;
  const int64_t first = n * rank / world, last = n * (rank + 1) / world;
  for (int64_t at = first; at < last; at += 256) {
    int64_t end = std::min(last, at + 256);
    auto logits = model.forward_from(from_stage, x.slice(0, at, end));
    auto target = y.slice(0, at, end);
    loss += torch::nn::functional::cross_entropy(logits, target).item<double>() * static_cast<double>(end - at);
    auto predicted = logits.argmax(1);
    auto p = predicted.accessor<int64_t, 1>();
    for (int64_t i = 0; i < end - at; ++i) {
      ++e.confusion[labels[at + i]][p[i]];
      correct += p[i] == labels[at + i];
    }
  }
  if (cluster) {
    auto sums = torch::zeros({1 + classes * classes}, torch::kDouble);
    auto a = sums.accessor<double, 1>();
    a[0] = loss;
    for (int t = 0; t < classes; ++t)
      for (int p = 0; p < classes; ++p) a[1 + t * classes + p] = static_cast<double>(e.confusion[t][p]);
    all_sum(*cluster, sums);
    loss = a[0];
    correct = 0;
    for (int t = 0; t < classes; ++t)
      for (int p = 0; p < classes; ++p) {
        e.confusion[t][p] = static_cast<uint64_t>(a[1 + t * classes + p]);
        if (t == p) correct += e.confusion[t][p];
      }
  }
  e.loss = loss / static_cast<double>(n);
  e.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  return e;
}

std::string format_epoch(const EpochMetrics& m, int epochs) {
  char line[256];
  std::snprintf(line, sizeof line,
                "epoch %d/%d: loss %.4f accuracy %.4f, validation loss %.4f accuracy %.4f, %.0f images/s, %.1f s",
                m.epoch, epochs, m.train_loss, m.train_accuracy, m.validation_loss, m.validation_accuracy,
                m.images_per_second, m.seconds);
  return line;
}

// With a cluster: averages the float buffers (batch norm's running
// statistics, which each process gathered on its own share) so that every
// process holds the same weights.
void average_buffers(Classifier& model, Cluster& cluster) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> floats;
  for (auto& b : model.buffers(true))
    if (b.scalar_type() == torch::kFloat) floats.push_back(b);
  if (floats.empty()) return;
  std::vector<torch::Tensor> flat_parts;
  for (auto& b : floats) flat_parts.push_back(b.reshape({-1}));
  auto flat = torch::cat(flat_parts);
  all_sum(cluster, flat);
  flat.div_(static_cast<double>(cluster.world()));
  int64_t at = 0;
  for (auto& b : floats) {
    b.copy_(flat.slice(0, at, at + b.numel()).view_as(b));
    at += b.numel();
  }
}

// A size for the log: one decimal under 10 MB ("4.9 MB", not "4 MB").
std::string megabytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, bytes < 10'000'000 ? "%.1f MB" : "%.0f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

// The memory the frozen prefix's outputs may take (KURA_TRAIN_CACHE_BYTES,
// 0 to recompute them every epoch; default 1 GiB).
uint64_t cache_budget() {
  const char* set = std::getenv("KURA_TRAIN_CACHE_BYTES");
  if (!set || !*set) return uint64_t{1} << 30;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(set, &end, 10);
  if (*end != '\0') fail(ErrorCode::kInvalidInput, std::string("KURA_TRAIN_CACHE_BYTES must be a number of bytes, not '") + set + "'");
  return v;
}

// Stages 0..stages-1 on `x`, in blocks of 256 images.
torch::Tensor run_prefix(Classifier& model, int stages, const torch::Tensor& x) {
  std::vector<torch::Tensor> parts;
  for (int64_t at = 0; at < x.size(0); at += 256) {
    torch::Tensor y = x.slice(0, at, std::min(x.size(0), at + 256));
    for (int i = 0; i < stages; ++i) y = model.stage(i, y);
    parts.push_back(y);
  }
  return torch::cat(parts);
}

// An adapter run's frozen prefix (the stages below the first adapter, batch
// norms in eval mode, no dropout and no augmentation in these networks)
// gives the same output for an image every epoch: it is computed once for
// the training and validation images, and the epochs run the rest. Returns
// the stages cached (0: none), `train` and `validation` then replaced by
// the prefix's outputs.
int cache_prefix(Classifier& model, const Hyper& h, torch::Tensor& train, torch::Tensor& validation, std::string& log) {
  if (h.adapter == "none" || train.size(0) == 0) return 0;
  const int stages = frozen_stages(model);
  if (stages == 0) return 0;
  torch::NoGradGuard no_grad;
  model.eval();
  auto one = run_prefix(model, stages, train.slice(0, 0, 1));
  const uint64_t count = static_cast<uint64_t>(train.size(0) + validation.size(0));
  const uint64_t bytes = count * static_cast<uint64_t>(one.numel()) * sizeof(float);
  std::string shape;
  for (int64_t i = 1; i < one.dim(); ++i) shape += " x " + std::to_string(one.size(i));
  const std::string what = "frozen prefix: " + std::to_string(stages) + " of " + std::to_string(model.stages()) +
                           " stages, " + std::to_string(count) + shape + " floats (" +
                           megabytes(bytes) + ")";
  const uint64_t budget = cache_budget();
  if (bytes > budget) {
    log += what + ": over the cache budget of " + megabytes(budget) +
           " (KURA_TRAIN_CACHE_BYTES), recomputed every epoch\n";
    return 0;
  }
  const auto start = Clock::now();
  train = run_prefix(model, stages, train);
  validation = validation.size(0) ? run_prefix(model, stages, validation) : torch::empty({0});
  char took[64];
  std::snprintf(took, sizeof took, ", computed once (%.2f s)\n", since(start));
  log += what + took;
  return stages;
}

}  // namespace

RunOutcome train_model(const EngineInput& in, const TrainCallbacks& cb) {
  const Hyper& h = in.hyper;
  RunOutcome out;
  const auto start = Clock::now();
  Cluster* cluster = in.cluster;
  const size_t world = cluster ? cluster->world() : 1, rank = cluster ? cluster->rank() : 0;
  try {
    pin_threads(h.threads);
    torch::manual_seed(h.seed);
    at::globalContext().setDeterministicAlgorithms(true, false);
    auto model = build_model(h, in.classes, in.base_model, &out.log);
    // Only what is trained: a frozen base's tensors have no gradient.
    std::vector<torch::Tensor> params;
    for (auto& p : model->parameters()) {
      out.parameters += static_cast<uint64_t>(p.numel());
      if (p.requires_grad()) params.push_back(p), out.trainable_parameters += static_cast<uint64_t>(p.numel());
    }
    torch::optim::Adam optimizer(params, torch::optim::AdamOptions(h.lr).weight_decay(h.weight_decay));

    torch::Tensor train_x = to_float(*in.train);
    const torch::Tensor train_y =
        torch::from_blob(const_cast<int64_t*>(in.train->labels.data()), {static_cast<int64_t>(in.train->count())},
                         torch::kLong);
    torch::Tensor val_x = to_float(*in.validation);
    const int cached = cache_prefix(*model, h, train_x, val_x, out.log);
    std::mt19937_64 rng(h.seed);
    const size_t n = in.train->count();
    if (world > 1) out.log += "data parallel: " + std::to_string(world) + " processes (c10d Gloo)\n";

    for (int epoch = 1; epoch <= h.epochs && out.status == RunStatus::kComplete; ++epoch) {
      model->train();
      if (h.adapter != "none") freeze_norms(*model);
      auto order = shuffled(n, rng);
      const auto epoch_start = Clock::now();
      auto last_report = epoch_start;
      double loss_sum = 0;
      uint64_t correct = 0, seen = 0;
      for (size_t at = 0; at < n; at += static_cast<size_t>(h.batch_size)) {
        if (!cluster && cb.stop && cb.stop->load()) {
          out.status = RunStatus::kInterrupted;
          break;
        }
        const size_t end = std::min(n, at + static_cast<size_t>(h.batch_size));
        // Batch norm cannot train on one example: a last batch with fewer
        // than two examples per process is dropped.
        if (end - at < 2 * world) break;
        // This process's share of the batch: a fixed block of the epoch's order.
        const size_t from = at + (end - at) * rank / world, to = at + (end - at) * (rank + 1) / world;
        auto idx = torch::from_blob(order.data() + from, {static_cast<int64_t>(to - from)}, torch::kLong);
        auto x = train_x.index_select(0, idx);
        auto y = train_y.index_select(0, idx);
        optimizer.zero_grad();
        auto logits = model->forward_from(cached, x);
        torch::Tensor loss;
        if (!cluster) {
          loss = torch::nn::functional::cross_entropy(logits, y);
        } else {
          // Scaled so that the average over the processes of the gradients
          // is the gradient of the whole batch's mean loss.
          loss = torch::nn::functional::cross_entropy(
                     logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) *
                 (static_cast<double>(world) / static_cast<double>(end - at));
        }
        loss.backward();
        if (cluster) {
          // One all-reduce per batch: every gradient and the stop flag, so
          // that all processes stop at the same batch.
          std::vector<torch::Tensor> parts;
          for (auto& p : params) parts.push_back(p.grad().reshape({-1}));
          parts.push_back(torch::full({1}, cb.stop && cb.stop->load() ? 1.0f : 0.0f));
          auto flat = torch::cat(parts);
          all_sum(*cluster, flat);
          if (flat[flat.size(0) - 1].item<float>() > 0) {
            out.status = RunStatus::kInterrupted;
            break;
          }
          flat.div_(static_cast<double>(world));
          int64_t off = 0;
          for (auto& p : params) {
            p.mutable_grad().copy_(flat.slice(0, off, off + p.numel()).view_as(p));
            off += p.numel();
          }
        }
        optimizer.step();
        const double batch_loss =
            cluster ? loss.item<double>() * static_cast<double>(end - at) / static_cast<double>(world)
                    : loss.item<double>() * static_cast<double>(end - at);
        loss_sum += batch_loss;
        correct += static_cast<uint64_t>(logits.argmax(1).eq(y).sum().item<int64_t>());
        seen += to - from;
        if (cb.progress && (since(last_report) > 0.2 || end == n)) {
          last_report = Clock::now();
          TrainProgress p;
          p.epoch = epoch;
          p.epochs = h.epochs;
          p.images = seen * world;
          p.images_total = n;
          p.loss = loss_sum / static_cast<double>(seen);
          p.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
          const double secs = since(epoch_start);
          p.images_per_second = static_cast<double>(p.images) / std::max(secs, 1e-9);
          p.seconds_left = (static_cast<double>(n - std::min<uint64_t>(n, p.images)) + static_cast<double>(n) * (h.epochs - epoch)) /
                           std::max(p.images_per_second, 1e-9);
          cb.progress(p);
        }
      }
      if (cluster) {
        // The epoch's sums over all processes, and the same batch norm statistics everywhere.
        auto sums = torch::tensor({loss_sum, static_cast<double>(correct), static_cast<double>(seen)}, torch::kDouble);
        all_sum(*cluster, sums);
        loss_sum = sums[0].item<double>();
        correct = static_cast<uint64_t>(sums[1].item<double>());
        seen = static_cast<uint64_t>(sums[2].item<double>());
        average_buffers(*model, *cluster);
      }
      if (out.status != RunStatus::kComplete || seen == 0) break;
      EpochMetrics m;
      m.epoch = epoch;
      m.seconds = since(epoch_start);
      m.images_per_second = static_cast<double>(seen) / std::max(m.seconds, 1e-9);
      m.train_loss = loss_sum / static_cast<double>(seen);
      m.train_accuracy = static_cast<double>(correct) / static_cast<double>(seen);
      Evaluation e = evaluate(*model, cached, val_x, in.validation->labels, in.classes, cluster);
      m.validation_loss = e.loss;
      m.validation_accuracy = e.accuracy;
      out.confusion = std::move(e.confusion);
      out.epochs.push_back(m);
      out.log += format_epoch(m, h.epochs) + "\n";
      if (cb.epoch_done) cb.epoch_done(m);
    }
    if (out.status == RunStatus::kInterrupted) out.log += "interrupted\n";
    out.weights = save_weights(*model, h.adapter);
  } catch (const c10::Error& e) {
    fail(ErrorCode::kInvalidInput, "libtorch: " + std::string(e.what_without_backtrace()));
  }
  out.weights_sha = sha256(out.weights).hex();
  if (cluster) {
    // Every process must end with the same weights; process 0 checks.
    cluster->publish("weights/" + std::to_string(rank), out.weights_sha);
    if (rank == 0) {
      for (size_t r = 1; r < world; ++r) {
        std::string other = cluster->fetch("weights/" + std::to_string(r));
        if (other != out.weights_sha)
          fail(ErrorCode::kCorrupt, "process " + std::to_string(r) + " ended with weights " + other +
                                        ", process 0 with " + out.weights_sha + ": the data-parallel run diverged");
      }
      out.log += "all " + std::to_string(world) + " processes hold these weights\n";
    }
  }
  out.seconds = since(start);
  struct rusage usage {};
  if (getrusage(RUSAGE_SELF, &usage) == 0) out.peak_rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
  return out;
}

std::vector<std::vector<float>> classify(const std::string& weights, const Hyper& hyper, int classes,
                                         const Images& images, const std::string* base) {
  std::vector<std::vector<float>> out;
  try {
    pin_threads(hyper.threads);
    auto model = build_model(hyper, classes, base, nullptr);
    load_weights(*model, weights, hyper.adapter);
    model->eval();
    torch::NoGradGuard no_grad;
    auto probs = torch::softmax(model->forward(to_float(images)), 1).contiguous();
    auto a = probs.accessor<float, 2>();
    for (int64_t i = 0; i < probs.size(0); ++i) {
      out.emplace_back(classes);
      for (int c = 0; c < classes; ++c) out.back()[c] = a[i][c];
    }
  } catch (const c10::Error& e) {
    fail(ErrorCode::kInvalidInput, "libtorch: " + std::string(e.what_without_backtrace()));
  }
  return out;
}

}  // namespace kura::train
