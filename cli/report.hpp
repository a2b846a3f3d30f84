// Printing a check report: JSON, or a readable report: a block per rule,
// then the findings grouped by file, then the totals.
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "kura/check.hpp"

namespace kura::cli {

constexpr size_t kFindingsPerRule = 20;  // shown by default; --all shows every one
constexpr size_t kExamplesPerRule = 3;   // in each rule's summary block

// Prints, for the findings `filter` shows: a block per rule (id, severity,
// count, how many excluded, the fix once, a few examples), then the findings
// grouped by file, at most `per_rule` of each rule (0: all), each fix
// printed only where it differs from its rule's, then a line per rule saying
// how many more there are and that `see_all` (a command, "kura check --all")
// shows them, then what the filter hid, then the totals of the whole
// report. Output stays a few kilobytes whatever the number of findings.
void print_report(std::ostream& out, const CheckReport& report, bool color, size_t per_rule = kFindingsPerRule,
                  const std::string& see_all = "kura check --all", const ReportFilter& filter = {});

// The --rule, --severity and --file options of a command that prints a
// report (check, commit, show).
struct FilterArgs {
  std::vector<std::string> rules, files;
  std::string severity;
  // The filter they give, its rules checked against `report` (Error
  // kInvalidInput naming an unknown one) unless kNo: after a commit landed,
  // an error would hide that it did.
  enum class Validate { kYes, kNo };
  ReportFilter filter(const CheckReport& report, Validate validate = Validate::kYes) const;
  // " --rule X --severity Y", to repeat them in a suggested command.
  std::string arguments() const;
};
std::shared_ptr<FilterArgs> add_filter_options(CLI::App* cmd);

}  // namespace kura::cli
