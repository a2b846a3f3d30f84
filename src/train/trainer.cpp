// The training loop: seeded initialisation, a seeded shuffle per epoch, Adam,
// and evaluation on the validation set after each epoch.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "kura/error.hpp"
#include "kura/object_id.hpp"
#include "train/net.hpp"

namespace kura::train {

namespace {

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

Evaluation evaluate(Classifier& model, const torch::Tensor& x, const std::vector<int64_t>& labels, int classes) {
  Evaluation e;
  e.confusion.assign(classes, std::vector<uint64_t>(classes, 0));
  const int64_t n = x.size(0);
  if (n == 0) return e;
  torch::NoGradGuard no_grad;
  model.eval();
  auto y = torch::from_blob(const_cast<int64_t*>(labels.data()), {n}, torch::kLong);
  double loss = 0;
  uint64_t correct = 0;
  for (int64_t at = 0; at < n; at += 256) {
    int64_t end = std::min(n, at + 256);
    auto logits = model.forward(x.slice(0, at, end));
    auto target = y.slice(0, at, end);
    loss += torch::nn::functional::cross_entropy(logits, target).item<double>() * static_cast<double>(end - at);
    auto predicted = logits.argmax(1);
    auto p = predicted.accessor<int64_t, 1>();
    for (int64_t i = 0; i < end - at; ++i) {
      ++e.confusion[labels[at + i]][p[i]];
      correct += p[i] == labels[at + i];
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

}  // namespace

RunOutcome train_model(const EngineInput& in, const TrainCallbacks& cb) {
  const Hyper& h = in.hyper;
  RunOutcome out;
  const auto start = Clock::now();
  try {
    pin_threads(h.threads);
    torch::manual_seed(h.seed);
    at::globalContext().setDeterministicAlgorithms(true, false);
    auto model = make_model(h, in.classes);
    if (in.base_model) out.log += load_base_model(*model, *in.base_model) + "\n";
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(h.lr).weight_decay(h.weight_decay));

    const torch::Tensor train_x = to_float(*in.train);
    const torch::Tensor train_y =
        torch::from_blob(const_cast<int64_t*>(in.train->labels.data()), {static_cast<int64_t>(in.train->count())},
                         torch::kLong);
    const torch::Tensor val_x = to_float(*in.validation);
    std::mt19937_64 rng(h.seed);
    const size_t n = in.train->count();

    for (int epoch = 1; epoch <= h.epochs && out.status == RunStatus::kComplete; ++epoch) {
      model->train();
      auto order = shuffled(n, rng);
      const auto epoch_start = Clock::now();
      auto last_report = epoch_start;
      double loss_sum = 0;
      uint64_t correct = 0, seen = 0;
      for (size_t at = 0; at < n; at += static_cast<size_t>(h.batch_size)) {
        if (cb.stop && cb.stop->load()) {
          out.status = RunStatus::kInterrupted;
          break;
        }
        const size_t end = std::min(n, at + static_cast<size_t>(h.batch_size));
        // Batch norm cannot train on one example: a last batch of one is dropped.
        if (end - at < 2) break;
        auto idx = torch::from_blob(order.data() + at, {static_cast<int64_t>(end - at)}, torch::kLong);
        auto x = train_x.index_select(0, idx);
        auto y = train_y.index_select(0, idx);
        optimizer.zero_grad();
        auto logits = model->forward(x);
        auto loss = torch::nn::functional::cross_entropy(logits, y);
        loss.backward();
        optimizer.step();
        loss_sum += loss.item<double>() * static_cast<double>(end - at);
        correct += static_cast<uint64_t>(logits.argmax(1).eq(y).sum().item<int64_t>());
        seen += end - at;
        if (cb.progress && (since(last_report) > 0.2 || end == n)) {
          last_report = Clock::now();
          TrainProgress p;
          p.epoch = epoch;
          p.epochs = h.epochs;
          p.images = seen;
          p.images_total = n;
          p.loss = loss_sum / static_cast<double>(seen);
          p.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
          const double secs = since(epoch_start);
          p.images_per_second = static_cast<double>(seen) / std::max(secs, 1e-9);
          p.seconds_left = (static_cast<double>(n - seen) + static_cast<double>(n) * (h.epochs - epoch)) /
                           std::max(p.images_per_second, 1e-9);
          cb.progress(p);
        }
      }
      if (out.status != RunStatus::kComplete || seen == 0) break;
      EpochMetrics m;
      m.epoch = epoch;
      m.seconds = since(epoch_start);
      m.images_per_second = static_cast<double>(seen) / std::max(m.seconds, 1e-9);
      m.train_loss = loss_sum / static_cast<double>(seen);
      m.train_accuracy = static_cast<double>(correct) / static_cast<double>(seen);
      Evaluation e = evaluate(*model, val_x, in.validation->labels, in.classes);
      m.validation_loss = e.loss;
      m.validation_accuracy = e.accuracy;
      out.confusion = std::move(e.confusion);
      out.epochs.push_back(m);
      out.log += format_epoch(m, h.epochs) + "\n";
      if (cb.epoch_done) cb.epoch_done(m);
    }
    if (out.status == RunStatus::kInterrupted) out.log += "interrupted\n";
    out.weights = save_weights(*model);
  } catch (const c10::Error& e) {
    fail(ErrorCode::kInvalidInput, "libtorch: " + std::string(e.what_without_backtrace()));
  }
  out.weights_sha = sha256(out.weights).hex();
  out.seconds = since(start);
  struct rusage usage {};
  if (getrusage(RUSAGE_SELF, &usage) == 0) out.peak_rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
  return out;
}

std::vector<std::vector<float>> classify(const std::string& weights, const Hyper& hyper, int classes,
                                         const Images& images) {
  std::vector<std::vector<float>> out;
  try {
    pin_threads(hyper.threads);
    auto model = make_model(hyper, classes);
    load_weights(*model, weights);
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
