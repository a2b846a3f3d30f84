// Training runs as gc roots: a run record names its outputs, its base model
// and its commit, which stay as long as the record does (docs/train.md).
#include <nlohmann/json.hpp>

#include "kura/error.hpp"
#include "repo/reach.hpp"

namespace kura {

RunRoots run_roots(const Store& store) {
  RunRoots roots;
  store.scan(Table::kRuns, "run/", [&](std::string_view key, std::string_view value) {
    nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      fail(ErrorCode::kCorrupt, "run record " + std::string(key.substr(4)) + " is not JSON; gc stopped before deleting anything");
    for (const char* field : {"weights", "metrics", "log", "base_model"})
      if (j.contains(field) && j[field].is_string())
        if (auto id = ObjectId::from_hex(j[field].get<std::string>())) roots.objects.push_back(*id);
    if (j.contains("spec") && j["spec"].contains("commit") && j["spec"]["commit"].is_string())
      roots.commits.push_back(j["spec"]["commit"]);
    return true;
  });
  return roots;
}

}  // namespace kura
