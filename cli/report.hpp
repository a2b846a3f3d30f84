// Printing a check report: JSON, or a readable report grouped by file.
#pragma once

#include <ostream>

#include "kura/check.hpp"

namespace kura::cli {

void print_report(std::ostream& out, const CheckReport& report, bool color);

}  // namespace kura::cli
