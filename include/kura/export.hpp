// Export: a checked commit written out in the format of the trainer you use,
// with a manifest that proves which commit and options it came from.
//
//   kura::ExportOptions options;
//   options.format = "llava";
//   kura::ExportResult r = kura::export_commit(repo, "out", options);
//   kura::VerifyResult v = kura::verify_export(repo, "out", "");  // v.ok
//
// The data comes from the commit (never from the working folder; the working
// folder and the index are not touched). A split ("train", "validation", or
// any NAME) is the commit's JSONL tables whose file name is the policy's
// train_file / validation_file, or NAME.jsonl; their rows are read one chunk
// at a time, so memory stays flat in the row count. Examples the commit's
// check report excludes are left out and listed (unless include_excluded);
// a report with errors refuses the export with Error(kCheckFailed) unless
// allow_check_errors. An example a format cannot express (several images
// for LLaVA, an image outside a user message, tool calls, ...) is left out
// and listed with its file, line and why: nothing is dropped silently.
//
// Image files are named by content, images/<first 16 hex of SHA-256>.<ext>,
// the extension sniffed from the bytes (a data URI's claimed type is only
// compared, and a mismatch counted); each is written once, with the exact
// committed bytes. Every export ends with kura-export.json (docs/export.md):
// commit, format, options, counts, left-out examples, estimated tokens and
// the SHA-256 of every file written, written last and atomically, so a
// folder with a manifest holds a whole export. The same commit and options
// give byte-identical output anywhere: no time, host or absolute path goes in.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "kura/progress.hpp"
#include "kura/repo.hpp"

namespace kura {

// One output format and what it cannot carry (said in every manifest).
struct ExportFormat {
  const char* name;          // "openai", "llava", ...
  const char* what;          // one line for --list-formats
  const char* trainers;      // who reads it
  bool inline_images;        // --images inline is possible (openai only)
  std::vector<std::string> cannot_carry;  // fields and shapes it drops or refuses
};
// Every format, in the order --list-formats shows them.
const std::vector<ExportFormat>& export_formats();

struct ExportOptions {
  std::string format;              // a name from export_formats(); required
  std::string rev = "HEAD";
  std::vector<std::string> splits; // empty: train and validation (those present)
  std::string images;              // "inline" or "files"; empty: the format's default
  bool include_excluded = false;   // keep what the checks exclude
  bool allow_check_errors = false; // export a commit whose checks found errors
  bool force = false;              // write into a folder that is not empty
  ProgressFn progress;             // "exporting": rows and bytes; may be empty
};

// An example (or image file) the export left out, or kept although excluded.
struct LeftOut {
  std::string path;   // the table (or image file)
  uint64_t line = 0;  // 1-based; 0 for an image file
  std::string rule;   // the check rule that excludes it, or "export.<reason>"
  std::string why;    // in a person's words
};

struct ExportResult {
  std::string commit;         // hex
  std::string export_id;      // SHA-256 of the canonical (commit, format, options)
  nlohmann::json manifest;    // kura-export.json as written
  uint64_t files_written = 0, bytes_written = 0, images_written = 0;
  uint64_t examples_in = 0, examples_out = 0;
  uint64_t estimated_tokens = 0;  // training split, one epoch
  std::vector<LeftOut> left_out;
  uint64_t foreign_files = 0;  // files already in OUTDIR (with force) that are not part of the export
};

// Writes the export of options.rev into `outdir`, which must be absent or
// empty (or options.force: files of an earlier export named by its
// kura-export.json are removed first; other files stay and are counted).
// Errors: Error(kInvalidInput) for a bad format, split or option and for an
// OUTDIR inside .kura/ or equal to the working folder; kConflict for a
// non-empty OUTDIR; kCheckFailed (see above); kIo when a file cannot be
// written, in which case no kura-export.json is left in OUTDIR.
ExportResult export_commit(Repo& repo, const std::filesystem::path& outdir, const ExportOptions& options);

struct ExportDifference {
  std::string path;  // relative to OUTDIR
  std::string what;  // "missing", "not part of the export", "SHA-256 differs (...)"
};

struct VerifyResult {
  bool ok = false;
  std::string commit, format, export_id;
  uint64_t files_checked = 0;
  std::vector<ExportDifference> differences;  // path order; the first names the first file that differs
};

// Re-derives the export that OUTDIR's kura-export.json names (commit,
// format, options) without writing anything, then compares every file in
// OUTDIR, and the manifest itself, byte for byte (SHA-256). `rev`, when not
// empty, must be the manifest's commit (else a difference on the manifest).
// Error(kNotFound) when OUTDIR has no kura-export.json.
VerifyResult verify_export(Repo& repo, const std::filesystem::path& outdir, const std::string& rev);

}  // namespace kura
