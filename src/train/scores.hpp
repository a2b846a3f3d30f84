// Per-class scores from a confusion matrix: what `kura eval` records for each
// class and what `kura run diff` compares between two runs. Defined in
// records.cpp, the torch-free part of src/train, so both sides share it.
#pragma once

#include <cstdint>
#include <vector>

namespace kura {

struct ClassScore {
  double precision = 0, recall = 0, f1 = 0;
  uint64_t support = 0;  // examples whose true class it is
};

// One score per class of `confusion` ([true][predicted], square). A class
// never predicted has precision 0, one never true recall 0, and F1 is 0 when
// both are.
std::vector<ClassScore> class_scores(const std::vector<std::vector<uint64_t>>& confusion);

}  // namespace kura
