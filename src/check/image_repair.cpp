// repair_image (image_facts.hpp): kura fix's image work, in the image module.
#include <glib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>
#include <mutex>
#include <vips/vips8>

#include "check/vips_util.hpp"
#include "kura/error.hpp"
#include "kura/image_facts.hpp"

namespace kura {

using vips::VError;
using vips::VImage;

namespace {

using media::BlobUnref;
using media::first_line;

// libvips' error buffer and its operation blocks are the process's: repairs
// run one at a time (kura fix repairs few images, and never in a hurry).
std::mutex g_repair;

// The decoded first frame, in memory (each encode below reads it again).
// A BMP has no trusted loader: ImageMagick's buffer loader is allowed for
// this one load and blocked again at once.
VImage load(std::string_view bytes, ImageFormat format, uint64_t max_pixels) {
  const bool bmp = format == ImageFormat::kBmp;
  if (bmp) vips_operation_block_set("VipsForeignLoadMagickBuffer", FALSE);
  struct Reblock {
    bool on;
    ~Reblock() {
      if (on) vips_operation_block_set("VipsForeignLoadMagickBuffer", TRUE);
    }
  } reblock{bmp};
  VImage image;
  if (bmp) {
    std::unique_ptr<VipsBlob, BlobUnref> blob(vips_blob_new(nullptr, bytes.data(), bytes.size()));
    image = VImage::magickload_buffer(blob.get());
  } else {
    image = VImage::new_from_buffer(bytes.data(), bytes.size(), "", VImage::option()->set("fail_on", VIPS_FAIL_ON_ERROR));
  }
  const uint64_t pixels = uint64_t(image.width()) * uint64_t(vips_image_get_page_height(image.get_image()));
  if (pixels > max_pixels)
    throw VError("the image has " + std::to_string(pixels) + " pixels, over the limit of " +
                 std::to_string(max_pixels) + "; not decoded");
  if (image.height() != vips_image_get_page_height(image.get_image()))  // a loader that gave every page
    image = image.crop(0, 0, image.width(), vips_image_get_page_height(image.get_image()));
  return image.copy_memory();
}

// 8-bit sRGB, with alpha when the image has it: libvips' colour conversion
// (CMYK through its ICC profile, or libvips' own CMYK profile), then the
// metadata that describes the old pixels dropped, so that no encoder writes
// a CMYK profile or a palette for them.
VImage to_srgb8(VImage image) {
  if (image.interpretation() != VIPS_INTERPRETATION_sRGB || image.format() != VIPS_FORMAT_UCHAR) {
    if (vips_colourspace_issupported(image.get_image())) image = image.colourspace(VIPS_INTERPRETATION_sRGB);
    if (image.format() == VIPS_FORMAT_USHORT) image = (image / 257.0).cast(VIPS_FORMAT_UCHAR);
    else if (image.format() != VIPS_FORMAT_UCHAR) image = image.cast(VIPS_FORMAT_UCHAR);
  }
  if (image.bands() < 3) {  // grey (and alpha) that libvips has no colour space for
    const VImage grey = image.extract_band(0);
    VImage rgb = grey.bandjoin({grey, grey});
    if (image.bands() == 2) rgb = rgb.bandjoin(image.extract_band(1));
    image = rgb;
  }
  image = image.copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));  // a fresh header to edit
  for (const char* field : {"icc-profile-data", "palette-bit-depth", "bits-per-sample", "palette"})
    if (image.get_typeof(field) != 0) image.remove(field);
  return image.copy_memory();
}

std::string encode(const VImage& image, ImageFormat format, int quality, bool smallest) {
  void* buf = nullptr;
  size_t size = 0;
  switch (format) {
    case ImageFormat::kJpeg:
      image.write_to_buffer(".jpg", &buf, &size,
                            VImage::option()->set("Q", quality)->set("optimize_coding", true));
      break;
    case ImageFormat::kWebp:
      image.write_to_buffer(".webp", &buf, &size, VImage::option()->set("Q", quality));
      break;
    default:
      image.write_to_buffer(".png", &buf, &size,
                            VImage::option()->set("compression", smallest ? 9 : 6)->set("bitdepth", 8));
      break;
  }
  std::unique_ptr<void, decltype(&g_free)> owned(buf, g_free);
  return std::string(static_cast<const char*>(buf), size);
}

std::string dims(const VImage& image) { return std::to_string(image.width()) + "x" + std::to_string(image.height()); }

RepairedImage repair(std::string_view bytes, const ImageRepair& r) {
  RepairedImage out;
  const ImageFormat in = sniff_image_format(bytes);
  VImage image = load(bytes, in, r.max_pixels);
  if (r.upright) image = image.autorot().copy_memory();  // autorot drops the orientation tag
  const bool plain = image.interpretation() == VIPS_INTERPRETATION_sRGB && image.format() == VIPS_FORMAT_UCHAR &&
                     (image.bands() == 3 || image.bands() == 4);
  if (r.srgb || r.to_png || !plain) image = to_srgb8(image);

  out.format = r.to_png || (in != ImageFormat::kJpeg && in != ImageFormat::kWebp) ? ImageFormat::kPng : in;
  const bool lossy = out.format != ImageFormat::kPng;
  constexpr int kQuality = 90;
  out.bytes = encode(image, out.format, kQuality, false);
  const uint64_t limit = r.max_bytes;
  if (limit && out.bytes.size() > limit) {
    // Cheapest first: the same pixels smaller (lower quality, or PNG's best
    // compression), then fewer pixels, aiming a little under the limit.
    for (int q : {80, 70}) {
      if (!lossy) break;
      out.bytes = encode(image, out.format, q, true);
      out.size_step = "re-encoded at Q " + std::to_string(q);
      if (out.bytes.size() <= limit) break;
    }
    // PNG's best compression saves a few percent at a high price in time
    // (a 9 MP photo: seconds): tried only when that may be enough.
    if (!lossy && out.bytes.size() <= limit + limit / 8) {
      out.bytes = encode(image, out.format, kQuality, true);
      out.size_step = "recompressed";
    }
    const std::string was = dims(image);
    const int q = lossy ? 80 : kQuality;
    VImage base = image;
    double scale = 1.0;
    for (int round = 0; out.bytes.size() > limit; ++round) {
      if (round == 12 || std::min(base.width(), base.height()) * scale < 16) {
        out = RepairedImage{};
        out.error = "cannot bring the image under " + std::to_string(limit) + " bytes (max_image_bytes) by scaling it down";
        return out;
      }
      scale *= std::sqrt(double(limit) / out.bytes.size()) * 0.95;
      image = base.resize(scale, VImage::option()->set("kernel", VIPS_KERNEL_LANCZOS3)).copy_memory();
      out.bytes = encode(image, out.format, q, true);
      out.size_step = "scaled down from " + was + (lossy ? " (Q " + std::to_string(q) + ")" : "");
    }
  }
  out.width = image.width();
  out.height = image.height();
  return out;
}

}  // namespace

RepairedImage repair_image(std::string_view bytes, const ImageRepair& r) {
  init_image_library();
  std::lock_guard<std::mutex> lock(g_repair);
  vips_error_clear();
  RepairedImage out;
  if (bytes.empty()) {
    out.error = "empty file";
    return out;
  }
  try {
    out = repair(bytes, r);
  } catch (const VError& e) {
    out = RepairedImage{};
    out.error = first_line(e.what());
  }
  vips_error_clear();
  return out;
}

}  // namespace kura
