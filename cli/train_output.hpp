// Formatting shared by the training commands of kura and kura-train.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>

#include "kura/error.hpp"
#include "kura/train.hpp"

namespace kura::cli {

inline std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// The confusion matrix, rows the true label and columns the prediction.
inline void print_confusion(const std::vector<std::string>& labels, const nlohmann::json& confusion) {
  std::cout << "confusion matrix (rows: true label, columns: predicted)\n";
  size_t w = 5;
  for (const auto& l : labels) w = std::max(w, l.size() + 1);
  std::cout << std::string(w, ' ');
  for (const auto& l : labels) std::cout << std::string(w - l.size(), ' ') << l;
  std::cout << "\n";
  for (size_t i = 0; i < labels.size(); ++i) {
    std::cout << labels[i] << std::string(w - labels[i].size(), ' ');
    for (const auto& n : confusion[i]) {
      std::string s = std::to_string(n.get<uint64_t>());
      std::cout << std::string(w - std::min(w, s.size()), ' ') << s;
    }
    std::cout << "\n";
  }
}

inline std::string epoch_line(const EpochMetrics& m, int epochs) {
  return "epoch " + std::to_string(m.epoch) + "/" + std::to_string(epochs) + "  loss " + fixed(m.train_loss, 4) +
         "  accuracy " + fixed(m.train_accuracy, 4) + "  validation loss " + fixed(m.validation_loss, 4) +
         "  accuracy " + fixed(m.validation_accuracy, 4) + "  " + fixed(m.images_per_second, 0) + " images/s  " +
         fixed(m.seconds, 1) + " s";
}

inline nlohmann::json record_json(const RunRecord& r) { return run_json(r); }

inline std::string short_id(const std::string& id) { return id.substr(0, 12); }

inline std::string when(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

inline std::string read_local(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_errno("read", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace kura::cli
