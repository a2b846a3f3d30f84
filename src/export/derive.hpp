// The one code path of an export, shared by export_commit (writing) and
// verify_export (hashing only): from a commit and options to the files
// written through `out` and the manifest that describes them.
#pragma once

#include <nlohmann/json.hpp>

#include "export/output.hpp"
#include "kura/export.hpp"

namespace kura::exporter {

// Fills `result` (manifest included, without the manifest's own file) and
// writes every output file through `out`.
void derive(Repo& repo, const std::string& commit, const ExportOptions& options, Output& out, ExportResult& result);

// The options as the manifest records them and the export id hashes them.
nlohmann::json canonical_options(const ExportOptions& options);

inline constexpr const char* kManifestName = "kura-export.json";

}  // namespace kura::exporter
