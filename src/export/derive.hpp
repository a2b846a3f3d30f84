// The one code path of an export, shared by export_commit (writing) and
// verify_export (hashing only): from a commit and options to the files
// written through `out` and the manifest that describes them.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>

#include "export/output.hpp"
#include "kura/export.hpp"

namespace kura::exporter {

// Throttles progress reports to about ten a second.
struct Ticker {
  const ProgressFn& fn;
  Progress p{"exporting", 0, 0, 0, 0};
  std::chrono::steady_clock::time_point last{};
  void tick(const Output& out, bool force = false) {
    if (!fn) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last < std::chrono::milliseconds(100)) return;
    last = now;
    p.bytes_done = out.bytes();
    fn(p);
  }
};

// Fills `result` (manifest included, without the manifest's own file) and
// writes every output file through `out`.
void derive(Repo& repo, const std::string& commit, const ExportOptions& options, Output& out, ExportResult& result);

// The options as the manifest records them and the export id hashes them.
nlohmann::json canonical_options(const ExportOptions& options);

// The `files` format: every file of the commit as committed.
void write_files(Repo& repo, const std::string& commit, Output& out, ExportResult& result, Ticker& ticker);

inline constexpr const char* kManifestName = "kura-export.json";

}  // namespace kura::exporter
