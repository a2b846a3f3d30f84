// Fixes: `kura fix` applies the fixes of the image findings that `kura check`
// reports, to the files of the working folder.
//
// An image is fixable when it decodes and one of these rules fires on it
// (docs/checks.md, "kura fix"):
//
//   image.bad_color_mode     CMYK, grayscale, palette, 16-bit -> 8-bit sRGB
//                            (alpha kept: the rule accepts RGBA)
//   image.exif_rotated       the rotation applied to the pixels, the tag dropped
//   image.unsupported_format GIF (first frame), BMP, TIFF, HEIF, ... -> PNG
//   image.too_large          JPEG and WebP re-encoded at lower quality, PNG
//                            at its best compression (when nearly under),
//                            then scaled down until under max_image_bytes
//   image.mime_mismatch      (inline images) the data URL names the real type
//
// Image files are rewritten in place; one that changes format changes name
// (photo.gif -> photo.png), every JSONL row of the data set that names it by
// path is rewritten, and the old file is removed. Inline images are
// re-encoded inside their data URL; every other byte of the JSONL file stays
// as it was. Entries of kura-exclusions.jsonl follow: a renamed image's
// path, and the row of a line that changed, are rewritten. Every write is crash-safe (temporary, fsync, rename), in an
// order that leaves a usable data set after a crash at any point: new image
// files first, then the JSONL files, then the removal of renamed files.
// Nothing is staged: the user reviews and commits.
//
//   FixOptions options;
//   options.policy = repo->policy();
//   FixReport report = fix_images(repo->root(), cwd, {}, options);
//   for (const FixChange& c : report.changes) print(c.where(), c.what);
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "kura/check.hpp"
#include "kura/image_facts.hpp"  // repair_image(), the per-image part

namespace kura {

struct FixOptions {
  Policy policy;         // the rules, and max_image_bytes / max_pixels
  bool dry_run = false;  // find and describe the fixes, write nothing
};

// One fix: an image file, or one inline image (or image path) of a JSONL line.
struct FixChange {
  std::string path;      // the file as it was: "photos/a.gif", "train.jsonl"
  std::string new_path;  // an image file renamed by its new format; else empty
  uint64_t line = 0;     // 1-based JSONL line; 0 for an image file
  int message_index = -1, content_index = -1;  // the content part, in a JSONL line
  std::vector<std::string> rules;  // the rules it fixes: "image.bad_color_mode", ...
  // What changed, in a person's words: "GIF -> PNG, 640x480",
  // "CMYK JPEG -> sRGB JPEG, 150x103", "image path a.gif -> a.png".
  std::string what;
  uint64_t bytes_before = 0, bytes_after = 0;  // of the image (0 for a path rewrite)

  // "photos/a.gif", "train.jsonl:12 message 1 part 2".
  std::string where() const;
};

// An image with a problem that kura fix does not repair (it does not
// decode, it is a decompression bomb, or its repair failed): left as it is.
struct FixSkipped {
  std::string path;
  uint64_t line = 0;
  int message_index = -1, content_index = -1;
  std::string reason;
};

struct FixReport {
  std::vector<FixChange> changes;     // in path, line order
  std::vector<FixSkipped> skipped;
  std::vector<std::string> written;   // files written (or, dry run, that would be)
  std::vector<std::string> removed;   // renamed images' old files
  bool dry_run = false;
  nlohmann::json to_json() const;     // docs/cli.md, "kura fix"
};

// Fixes the images under `paths` (relative to `cwd` or absolute, inside
// `root`; none: the whole folder), as `kura check` of the same paths finds
// them: image files, the files JSONL rows under `paths` name by path, and the
// inline images of those rows. Path references to a renamed image are
// rewritten in every JSONL file of the folder (kura-exclusions.jsonl
// included). Validates everything before the first write: a new name that
// is taken (by a file, or by another renamed image) is Error(kConflict)
// naming both files, with nothing written; a missing path is
// Error(kNotFound). The caller holds the repository lock, if any.
FixReport fix_images(const std::filesystem::path& root, const std::filesystem::path& cwd,
                     const std::vector<std::string>& paths, const FixOptions& options);

}  // namespace kura
