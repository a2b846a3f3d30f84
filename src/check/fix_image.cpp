#include "check/fix_image.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include "check/image_rules.hpp"

namespace kura::check {

namespace {

// The rules whose fix kura fix applies to an image's bytes.
const std::set<std::string> kImageRules = {"image.bad_color_mode", "image.exif_rotated", "image.unsupported_format",
                                           "image.too_large"};

// The colour-mode word of image_findings' message; none for a GIF, whose
// palette goes with its format.
std::string mode_label(const Facts& f) {
  if (f.format == "gif") return "";
  if (f.interpretation == "cmyk") return "CMYK";
  if (f.palette) return "palette";
  if (f.bits > 8) return std::to_string(f.bits) + "-bit";
  if (f.bands == 1 || f.bands == 2 || f.interpretation == "b-w" || f.interpretation == "grey16") return "grayscale";
  return "";
}

std::string megabytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", bytes / 1e6);
  return text;
}

ImageOptions inspect_options(const Policy& policy) {
  ImageOptions o;
  o.max_pixels = policy.max_pixels;
  return o;
}

}  // namespace

std::string format_label(const std::string& format) {
  if (format == "webp") return "WebP";
  std::string out = format;
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

Outcome decide(std::string_view bytes, const Policy& policy) {
  Outcome out;
  const ImageFacts found = inspect_image(bytes, inspect_options(policy));
  const Facts f = facts_from(found, bytes.size());
  out.format = out.original_format = f.format;
  // A BMP does not decode in the checks only because its one loader
  // (ImageMagick's) is untrusted; repair_image may use it, and a BMP that
  // is really damaged fails there.
  const bool untrusted_only = found.format == ImageFormat::kBmp && !found.decodes && found.width == 0;
  for (const auto& [rule, message] : image_findings(f, "", policy)) {
    if (policy.action(rule) == RuleAction::kOff) continue;
    if (rule == "image.corrupt" && untrusted_only) continue;
    if (rule == "image.corrupt" || (rule == "image.too_large" && f.too_many_pixels)) {
      out.skipped = rule + ": " + message + "; kura fix cannot repair it";
      out.rules.clear();
      return out;
    }
    if (kImageRules.count(rule)) out.rules.push_back(rule);
  }
  if (out.rules.empty()) return out;
  auto has = [&](const char* rule) { return std::find(out.rules.begin(), out.rules.end(), rule) != out.rules.end(); };
  ImageRepair r;
  r.srgb = has("image.bad_color_mode");
  r.upright = has("image.exif_rotated");
  r.to_png = has("image.unsupported_format");
  if (policy.action("image.too_large") != RuleAction::kOff) r.max_bytes = policy.max_image_bytes;
  r.max_pixels = policy.max_pixels;
  out.repaired = repair_image(bytes, r);
  if (!out.repaired.error.empty()) {
    out.skipped = "cannot repair it: " + out.repaired.error;
    out.rules.clear();
    return out;
  }
  // The result must pass the rules it was repaired for.
  const Facts g = facts_from(inspect_image(out.repaired.bytes, inspect_options(policy)), out.repaired.bytes.size());
  for (const auto& [rule, message] : image_findings(g, "", policy))
    if (policy.action(rule) != RuleAction::kOff && (kImageRules.count(rule) || rule == "image.corrupt")) {
      out.skipped = "the repaired image would still have " + rule + " (" + message + "); left as it is";
      out.rules.clear();
      return out;
    }
  out.format = g.format;

  std::vector<std::string> parts;
  const std::string mode = mode_label(f);
  const std::string before = (mode.empty() ? "" : mode + " ") + format_label(f.format);
  const std::string after = (r.srgb && !mode.empty() ? "sRGB " : "") + format_label(g.format);
  if (before != after) parts.push_back(before + " -> " + after);
  if (r.to_png && found.pages > 1) parts.push_back("first frame of " + std::to_string(found.pages));
  if (r.upright) parts.push_back("rotated upright (EXIF orientation " + std::to_string(f.orientation) + ")");
  if (has("image.too_large"))
    parts.push_back(megabytes(f.bytes) + " -> " + megabytes(g.bytes) +
                    (out.repaired.size_step.empty() ? "" : " (" + out.repaired.size_step + ")"));
  parts.push_back(std::to_string(g.width) + "x" + std::to_string(g.height));
  for (size_t i = 0; i < parts.size(); ++i) out.what += (i ? ", " : "") + parts[i];
  return out;
}

// The name of an image file whose format became `format`: kept when its
// extension already says so, else with the extension replaced (or added).
std::string name_for(const std::string& path, const std::string& format) {
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  std::string ext = has_ext ? path.substr(dot + 1) : "";
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (normalise_subtype(ext) == format || (format == "jpeg" && ext == "jpe")) return path;
  const std::string wanted = format == "jpeg" ? "jpg" : format;
  return (has_ext ? path.substr(0, dot) : path) + "." + wanted;
}

}  // namespace kura::check
