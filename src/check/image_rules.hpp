// From image bytes to findings: the facts libvips and dlib find (cached in
// the store by object id), and the rules that judge them under a policy.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kura/check.hpp"
#include "kura/object_id.hpp"

namespace kura {
class Store;
struct ImageFacts;
}

namespace kura::check {

// Bump when what inspect_image finds, or the cached form of Facts, changes:
// cached facts are keyed by it. 2: a binary encoding instead of msgpack;
// 3: the crop hashes.
constexpr int kFactsVersion = 3;

struct Facts {
  uint64_t bytes = 0;
  std::string format = "unknown";  // "jpeg", "png", "webp", "gif", ..., "unknown"
  int width = 0, height = 0, bands = 0, bits = 8;
  std::string interpretation;
  bool palette = false, has_alpha = false, decodes = false, too_many_pixels = false;
  int orientation = 1;
  std::string error;
  uint64_t phash = 0;
  std::string grid;  // ImageFacts::grid: 1,024 grey bytes, or empty
  // check::crop_hashes(grid) when the image is large enough for a crop of it
  // to be told from a look-alike (not check::small_image), else empty.
  std::vector<uint64_t> crops;
  int faces = -1;  // -1: not looked for
  std::vector<std::array<int, 4>> face_boxes;
};

// The facts in the cached form, of an image of `bytes` bytes.
Facts facts_from(const ImageFacts& found, uint64_t bytes);
// Whether `path` names an image by its extension (.jpg .png .gif ... any
// case): the files of a folder that the checks inspect as images.
bool image_extension(const std::string& path);

// The facts of image `id`, from the cache or by inspecting its bytes;
// `hit` tells which. Never throws for bad image bytes.
Facts facts_of(Store& store, const ObjectId& id, const Policy& policy, bool* hit);
// The cache key of an image's facts under `policy`.
std::string facts_key(const ObjectId& id, const Policy& policy);
// As facts_of, with the cache entry already looked up (nullopt: a miss); on
// a miss the image's bytes come from `read` and the facts are cached in
// `results`.
Facts facts_of(Store& results, const ObjectId& id, const Policy& policy, const std::optional<std::string>& cached,
               const std::function<std::string()>& read, bool* hit);
// The facts of image `id` when the cache holds them for `policy`; never
// inspects the image (kura diff looks here before it decodes anything).
std::optional<Facts> cached_facts(const Store& store, const ObjectId& id, const Policy& policy);

// A data URI's subtype as the format it names: "jpg" and "pjpeg" are
// "jpeg", "x-png" is "png"; lower case.
std::string normalise_subtype(std::string subtype);

// (rule, message) pairs for one use of an image; `declared` is the data URI's
// subtype ("" for files and paths).
std::vector<std::pair<std::string, std::string>> image_findings(const Facts& facts, const std::string& declared,
                                                                const Policy& policy);

// Tokens an image costs in OpenAI's published formula: "low" detail 85;
// otherwise fit in 2048x2048, shortest side down to 768, 170 per 512-px tile plus 85.
uint64_t image_tokens(const Facts& facts, const std::string& detail);

}  // namespace kura::check
