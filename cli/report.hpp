// Printing a check report: JSON, or a readable report grouped by file.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>

#include "kura/check.hpp"

namespace kura::cli {

constexpr size_t kFindingsPerRule = 20;  // shown by default; --all shows every one

// Prints the findings grouped by file, at most `per_rule` of each rule (0:
// all), then a line per rule saying how many more there are and that
// `see_all` (a command, "kura check --all") shows them, then the summary.
// Output stays a few kilobytes whatever the number of findings.
void print_report(std::ostream& out, const CheckReport& report, bool color, size_t per_rule = kFindingsPerRule,
                  const std::string& see_all = "kura check --all");

}  // namespace kura::cli
