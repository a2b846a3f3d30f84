#include "check/image_rules.hpp"

#include <cmath>

#include "check/likeness.hpp"
#include "kura/image_facts.hpp"
#include "kura/store.hpp"
#include "objects/codec.hpp"

namespace kura::check {

namespace {

// The cached form of Facts: varints and length-prefixed strings
// (objects/codec.hpp). A warm re-check decodes one per image: msgpack through
// nlohmann::json cost 34,000 instructions each, a third of the whole check.
void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

std::string encode_facts(const Facts& f) {
  std::string out;
  put_varint(out, f.bytes);
  put_string(out, f.format);
  for (int v : {f.width, f.height, f.bands, f.bits, f.orientation, f.faces + 1}) put_varint(out, static_cast<uint32_t>(v));
  put_string(out, f.interpretation);
  out.push_back(static_cast<char>((f.palette ? 1 : 0) | (f.has_alpha ? 2 : 0) | (f.decodes ? 4 : 0) |
                                  (f.too_many_pixels ? 8 : 0)));
  put_string(out, f.error);
  put_varint(out, f.phash);
  put_varint(out, f.face_boxes.size());
  for (const auto& box : f.face_boxes)
    for (int v : box) put_varint(out, static_cast<uint32_t>(v));
  put_string(out, f.grid);
  put_varint(out, f.crops.size());
  for (uint64_t h : f.crops) put_varint(out, h);
  return out;
}

Facts decode_facts(std::string_view bytes) {
  Reader r(bytes, "cached image facts", std::string_view());
  auto small = [&r] {
    const uint64_t v = r.varint();
    if (v > 0xFFFFFFFFu) r.corrupt();
    return static_cast<int>(static_cast<uint32_t>(v));
  };
  Facts f;
  f.bytes = r.varint();
  f.format = std::string(r.take(r.varint()));
  f.width = small();
  f.height = small();
  f.bands = small();
  f.bits = small();
  f.orientation = small();
  f.faces = small() - 1;
  f.interpretation = std::string(r.take(r.varint()));
  const uint8_t flags = r.byte();
  f.palette = flags & 1;
  f.has_alpha = flags & 2;
  f.decodes = flags & 4;
  f.too_many_pixels = flags & 8;
  f.error = std::string(r.take(r.varint()));
  f.phash = r.varint();
  const uint64_t boxes = r.varint();
  if (boxes > bytes.size()) r.corrupt();
  f.face_boxes.resize(boxes);
  for (auto& box : f.face_boxes)
    for (int& v : box) v = small();
  f.grid = std::string(r.take(r.varint()));
  if (!f.grid.empty() && f.grid.size() != 32 * 32) r.corrupt();
  const uint64_t crops = r.varint();
  if (crops != 0 && crops != check::kCropHashes) r.corrupt();
  f.crops.resize(crops);
  for (uint64_t& h : f.crops) h = r.varint();
  if (!r.done()) r.corrupt();
  return f;
}

}  // namespace

std::string normalise_subtype(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "jpg" || s == "pjpeg") return "jpeg";
  if (s == "x-png") return "png";
  return s;
}

std::string facts_key(const ObjectId& id, const Policy& policy) {
  const bool faces = policy.action("moderation.face") != RuleAction::kOff;
  return "f" + std::to_string(kFactsVersion) + "." + std::to_string(kImageFactsVersion) +
         (faces ? "F" + std::to_string(policy.min_face_px) : "-") + "/" + std::to_string(policy.max_pixels) + "/" +
         std::string(id.raw());
}

namespace {
// A cache entry's facts; a damaged entry is a miss.
std::optional<Facts> decode_cached(const std::optional<std::string>& cached) {
  if (!cached) return std::nullopt;
  try {
    return decode_facts(*cached);
  } catch (const Error&) {
    return std::nullopt;
  }
}
}  // namespace

std::optional<Facts> cached_facts(const Store& store, const ObjectId& id, const Policy& policy) {
  return decode_cached(store.get(Table::kChecks, facts_key(id, policy)));
}

}  // namespace kura::check

namespace kura {

std::string colour_mode(int bands, int bits, const std::string& interpretation, bool palette) {
  std::string mode;
  if (interpretation == "cmyk") mode = "cmyk";
  else if (palette) mode = "palette";
  else if (bands == 1) mode = "grey";
  else if (bands == 2) mode = "grey+alpha";
  else if (bands == 3) mode = "rgb";
  else if (bands == 4) mode = "rgba";
  else mode = std::to_string(bands) + " bands";
  if (bits > 8 && !palette) mode = std::to_string(bits) + "-bit " + mode;
  return mode;
}

std::optional<ImageInfo> cached_image_info(const Store& store, const ObjectId& id, const Policy& policy) {
  std::optional<check::Facts> f = check::cached_facts(store, id, policy);
  if (!f) {
    Policy plain = policy;  // kura diff's key (src/diff/images.cpp)
    plain.rules["moderation.face"] = RuleAction::kOff;
    plain.detect_faces = false;
    f = check::cached_facts(store, id, plain);
  }
  if (!f) return std::nullopt;
  ImageInfo info;
  info.bytes = f->bytes;
  info.format = f->format;
  info.width = f->width;
  info.height = f->height;
  info.mode = f->format == "unknown" ? "" : colour_mode(f->bands, f->bits, f->interpretation, f->palette);
  info.decodes = f->decodes;
  info.faces = f->faces;
  info.error = f->error;
  return info;
}

}  // namespace kura

namespace kura::check {

bool image_extension(const std::string& path) {
  static const char* exts[] = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"};
  std::string lower = path;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* e : exts) {
    std::string_view ext(e);
    if (lower.size() > ext.size() && lower.compare(lower.size() - ext.size(), ext.size(), ext) == 0) return true;
  }
  return false;
}

Facts facts_from(const ImageFacts& found, uint64_t bytes) {
  Facts f;
  f.bytes = bytes;
  f.format = found.format == ImageFormat::kUnknown ? "unknown" : found.format_name;
  f.width = found.width;
  f.height = found.height;
  f.bands = found.bands;
  f.bits = found.bits_per_sample;
  f.interpretation = found.interpretation;
  f.palette = found.palette;
  f.has_alpha = found.has_alpha;
  f.decodes = found.decodes;
  f.too_many_pixels = found.too_many_pixels;
  f.orientation = found.exif_orientation;
  f.error = found.decode_error;
  f.phash = found.phash;
  f.grid.assign(found.grid.begin(), found.grid.end());
  if (f.decodes && !f.grid.empty() && !check::small_image(f.width, f.height)) {
    const auto crops = check::crop_hashes(f.grid);
    f.crops.assign(crops.begin(), crops.end());
  }
  f.faces = found.faces;
  f.face_boxes = found.face_boxes;
  return f;
}

Facts facts_of(Store& store, const ObjectId& id, const Policy& policy, bool* hit) {
  return facts_of(store, id, policy, store.get(Table::kChecks, facts_key(id, policy)),
                  [&] { return store.read_object(id); }, hit);
}

Facts facts_of(Store& results, const ObjectId& id, const Policy& policy, const std::optional<std::string>& cached,
               const std::function<std::string()>& read, bool* hit) {
  if (auto facts = decode_cached(cached)) {
    *hit = true;
    return *facts;
  }
  const bool faces = policy.action("moderation.face") != RuleAction::kOff;
  const std::string key = facts_key(id, policy);
  *hit = false;
  const std::string bytes = read();
  ImageOptions options;
  options.max_pixels = policy.max_pixels;
  options.detect_faces = faces;
  options.min_face_px = policy.min_face_px;
  const Facts f = facts_from(inspect_image(bytes, options), bytes.size());
  // A store opened read-only (kura serve's diff, the Python reader):
  // computed, not cached.
  if (results.writable()) results.put(Table::kChecks, key, encode_facts(f));
  return f;
}

std::vector<std::pair<std::string, std::string>> image_findings(const Facts& f, const std::string& declared,
                                                                const Policy& policy) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string dims = std::to_string(f.width) + "x" + std::to_string(f.height);
  if (f.too_many_pixels) {
    out.emplace_back("image.too_large", dims + " is " + std::to_string(uint64_t(f.width) * uint64_t(f.height)) +
                                            " pixels, over the limit of " + std::to_string(policy.max_pixels) +
                                            " (a decompression bomb?); not decoded");
    return out;
  }
  if (f.format == "unknown") {
    out.emplace_back("image.corrupt", "not an image: the bytes are not in any image format kura knows");
    return out;
  }
  if (f.format != "jpeg" && f.format != "png" && f.format != "webp")
    out.emplace_back("image.unsupported_format", "the image is " + f.format + "; only JPEG, PNG and WEBP are accepted");
  if (!declared.empty() && normalise_subtype(declared) != f.format)
    out.emplace_back("image.mime_mismatch", "the data URI says image/" + declared + " but the bytes are " + f.format);
  if (f.bytes > policy.max_image_bytes) {
    char mb[32];
    std::snprintf(mb, sizeof mb, "%.1f MB", f.bytes / 1e6);
    out.emplace_back("image.too_large", std::string(mb) + ", over the limit of " +
                                            std::to_string(policy.max_image_bytes / 1000000) + " MB");
  }
  if (!f.decodes)
    out.emplace_back("image.corrupt", "the image does not decode to the end" + (f.error.empty() ? "" : ": " + f.error));
  std::string mode;
  if (f.interpretation == "cmyk") mode = "CMYK";
  else if (f.palette) mode = "palette (indexed colour)";
  else if (f.bits > 8) mode = std::to_string(f.bits) + "-bit";
  else if (f.bands == 1 || f.bands == 2 || f.interpretation == "b-w" || f.interpretation == "grey16") mode = "grayscale";
  if (!mode.empty()) out.emplace_back("image.bad_color_mode", "the image is " + mode + ", not 8-bit RGB or RGBA");
  if (f.orientation > 1)
    out.emplace_back("image.exif_rotated", "EXIF orientation " + std::to_string(f.orientation) +
                                               ": shown rotated by viewers, but not by trainers that ignore EXIF");
  if (policy.min_image_side > 0 && f.decodes && std::min(f.width, f.height) < policy.min_image_side)
    out.emplace_back("image.too_small", dims + " is smaller than the minimum side of " + std::to_string(policy.min_image_side));
  if (f.faces > 0) {
    std::string where;
    for (size_t i = 0; i < f.face_boxes.size() && i < 3; ++i) {
      const auto& b = f.face_boxes[i];
      where += (i ? ", " : " at ") + std::to_string(b[2]) + "x" + std::to_string(b[3]) + "+" + std::to_string(b[0]) +
               "+" + std::to_string(b[1]);
    }
    out.emplace_back("moderation.face", std::to_string(f.faces) + (f.faces == 1 ? " face" : " faces") + " found" + where);
  }
  return out;
}

uint64_t image_tokens(const Facts& f, const std::string& detail) {
  if (detail == "low") return 85;
  double w = f.width > 0 ? f.width : 512, h = f.height > 0 ? f.height : 512;
  if (w > 2048 || h > 2048) {
    double s = 2048 / std::max(w, h);
    w *= s;
    h *= s;
  }
  if (std::min(w, h) > 768) {
    double s = 768 / std::min(w, h);
    w *= s;
    h *= s;
  }
  uint64_t tiles = static_cast<uint64_t>(std::ceil(w / 512) * std::ceil(h / 512));
  return 170 * tiles + 85;
}

}  // namespace kura::check
