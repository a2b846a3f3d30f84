// Which files kura stores as tables (row by row): the `.jsonl` ones, by
// name, case-insensitively. add, check, exclude and fix all ask this.
#pragma once

#include <string>

namespace kura {

bool is_table_path(const std::string& path);

}  // namespace kura
