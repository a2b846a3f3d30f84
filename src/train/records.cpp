// Run records (table `runs`, "run/<id>" -> JSON) and the pinned CPU
// environment: the torch-free part of src/train, linked into the kura
// library so that reading runs does not load libtorch.
#include <algorithm>
#include <cstdlib>

#include "kura/error.hpp"
#include "kura/repo.hpp"
#include "kura/train.hpp"

namespace kura {

namespace {

const std::pair<const char*, const char*> kPinned[] = {
    {"ATEN_CPU_CAPABILITY", "avx2"},  // ATen's vectorised kernels (default: the best the CPU has)
    {"DNNL_MAX_CPU_ISA", "AVX2"},     // oneDNN's convolutions, likewise
    {"OMP_WAIT_POLICY", "passive"},   // busy-waiting threads crawl on a shared machine
};

}  // namespace

std::vector<std::pair<std::string, std::string>> pinned_environment() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, fallback] : kPinned) {
    const char* set = std::getenv(name);
    out.emplace_back(name, set && *set ? set : fallback);
  }
  return out;
}

bool environment_pinned() {
  for (const auto& [name, value] : pinned_environment()) {
    const char* set = std::getenv(name.c_str());
    if (!set || value != set) return false;
  }
  return true;
}

nlohmann::json RunRecord::to_json() const {
  return {{"id", id},         {"spec", spec},       {"status", status},   {"started", started},
          {"finished", finished}, {"weights", weights}, {"metrics", metrics}, {"log", log},
          {"base_model", base_model}, {"summary", summary}};
}

RunRecord RunRecord::from_json(const nlohmann::json& j) {
  RunRecord r;
  r.id = j.at("id");
  r.spec = j.at("spec");
  r.status = j.at("status");
  r.started = j.at("started");
  r.finished = j.at("finished");
  r.weights = j.at("weights");
  r.metrics = j.at("metrics");
  r.log = j.at("log");
  r.base_model = j.value("base_model", "");
  r.summary = j.at("summary");
  return r;
}

std::vector<RunRecord> list_runs(const Repo& repo) {
  std::vector<RunRecord> out;
  const_cast<Repo&>(repo).store().scan(Table::kRuns, "run/", [&](std::string_view key, std::string_view value) {
    try {
      out.push_back(RunRecord::from_json(nlohmann::json::parse(value)));
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorCode::kCorrupt, "run record " + std::string(key.substr(4)) + " cannot be read: " + e.what());
    }
    return true;
  });
  std::stable_sort(out.begin(), out.end(), [](const RunRecord& a, const RunRecord& b) { return a.finished > b.finished; });
  return out;
}

RunRecord find_run(const Repo& repo, const std::string& id_or_prefix) {
  if (id_or_prefix.size() < 4 || id_or_prefix.find_first_not_of("0123456789abcdef") != std::string::npos)
    fail(ErrorCode::kInvalidInput, "a run id is at least 4 lower-case hex digits, not '" + id_or_prefix + "'");
  std::vector<RunRecord> found;
  for (auto& r : list_runs(repo))
    if (r.id.rfind(id_or_prefix, 0) == 0) found.push_back(std::move(r));
  if (found.empty()) fail(ErrorCode::kNotFound, "no run " + id_or_prefix + " (kura runs lists them)");
  if (found.size() > 1) fail(ErrorCode::kInvalidInput, "run id " + id_or_prefix + " is ambiguous; give more digits");
  return found[0];
}

nlohmann::json run_metrics(const Repo& repo, const RunRecord& record) {
  auto id = ObjectId::from_hex(record.metrics);
  if (!id) fail(ErrorCode::kCorrupt, "run " + record.id + " names a bad metrics object");
  return nlohmann::json::parse(const_cast<Repo&>(repo).store().read_object(*id));
}

}  // namespace kura
