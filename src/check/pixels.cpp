// decode_pixels (image_facts.hpp): an image as a network takes it. Small
// 8-bit PNGs, the common training image, are read with libpng alone: through
// libvips each cost about 1.2 ms of CPU (GLib objects, a pipeline, a sink)
// for 400 pixels, libpng 4 us. Everything else goes through libvips; both
// paths end in the same resampler (resample.cpp).
#include <png.h>

#include <algorithm>
#include <atomic>
#include <csetjmp>
#include <cstring>
#include <memory>
#include <vips/vips8>

#include "check/pixels.hpp"
#include "check/vips_util.hpp"
#include "kura/error.hpp"

namespace kura {

using vips::VError;
using vips::VImage;

namespace media {
namespace {

std::atomic<uint64_t> g_png{0}, g_vips{0};

std::string too_many(uint64_t pixels, uint64_t max_pixels) {
  return "image has " + std::to_string(pixels) + " pixels, over the limit of " + std::to_string(max_pixels);
}

// libpng's state for one read from memory. Everything the error jump must
// leave intact lives here, outside the function that calls setjmp.
struct PngRead {
  std::string_view bytes;
  size_t at = 0;
  std::string error;
  png_structp png = nullptr;
  png_infop info = nullptr;
  std::vector<png_bytep> rows;
  ~PngRead() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

void png_read_bytes(png_structp png, png_bytep out, size_t n) {
  auto* r = static_cast<PngRead*>(png_get_io_ptr(png));
  if (r->bytes.size() - r->at < n) png_error(png, "the file is truncated");
  std::memcpy(out, r->bytes.data() + r->at, n);
  r->at += n;
}

void png_on_error(png_structp png, png_const_charp message) {
  static_cast<PngRead*>(png_get_error_ptr(png))->error = message;
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

enum class Fast { kDecoded, kDeclined, kFailed };

// An 8-bit grey, RGB or palette PNG without transparency or EXIF data into
// *out; kDeclined for any other PNG (libvips decodes those).
Fast read_png(PngRead& r, uint64_t max_pixels, Raster* out) {
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, png_on_error, png_on_warning);
  if (!r.png) return Fast::kDeclined;
  r.info = png_create_info_struct(r.png);
  if (!r.info) return Fast::kDeclined;
  if (setjmp(png_jmpbuf(r.png))) return Fast::kFailed;
  png_set_read_fn(r.png, &r, png_read_bytes);
  png_read_info(r.png, r.info);
  const png_uint_32 width = png_get_image_width(r.png, r.info), height = png_get_image_height(r.png, r.info);
  const int depth = png_get_bit_depth(r.png, r.info), type = png_get_color_type(r.png, r.info);
  if ((type != PNG_COLOR_TYPE_GRAY && type != PNG_COLOR_TYPE_RGB && type != PNG_COLOR_TYPE_PALETTE) ||
      (type != PNG_COLOR_TYPE_PALETTE && depth != 8) || png_get_valid(r.png, r.info, PNG_INFO_tRNS) ||
      png_get_valid(r.png, r.info, PNG_INFO_eXIf))
    return Fast::kDeclined;
  if (uint64_t(width) * height > max_pixels) {
    r.error = too_many(uint64_t(width) * height, max_pixels);
    return Fast::kFailed;
  }
  if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(r.png);
  png_set_interlace_handling(r.png);
  png_read_update_info(r.png, r.info);
  out->width = static_cast<int>(width);
  out->height = static_cast<int>(height);
  out->bands = type == PNG_COLOR_TYPE_GRAY ? 1 : 3;
  out->data.resize(size_t(width) * height * out->bands);
  r.rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y) r.rows[y] = &out->data[size_t(y) * width * out->bands];
  png_read_image(r.png, r.rows.data());
  png_read_end(r.png, r.info);
  // An eXIf chunk after the pixels may turn the image: libvips applies it.
  return png_get_valid(r.png, r.info, PNG_INFO_eXIf) ? Fast::kDeclined : Fast::kDecoded;
}

constexpr unsigned char kPngSignature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

// Any image libvips' trusted loaders read, as 8-bit sRGB (or grey), upright.
std::string read_vips(std::string_view bytes, int size, uint64_t max_pixels, Raster* out) {
  init_image_library();
  try {
    auto load = [&](int shrink) {
      const std::string options = shrink > 1 ? "[fail_on=error,shrink=" + std::to_string(shrink) + "]" : "[fail_on=error]";
      return VImage::new_from_buffer(bytes.data(), bytes.size(), options.c_str());
    };
    VImage image = load(1);
    const uint64_t pixels = uint64_t(image.width()) * uint64_t(vips_image_get_page_height(image.get_image()));
    if (pixels > max_pixels) return too_many(pixels, max_pixels);
    const char* loader = nullptr;
    if (vips_image_get_string(image.get_image(), VIPS_META_LOADER, &loader) == 0 && loader &&
        std::string_view(loader).rfind("jpegload", 0) == 0) {
      // libjpeg's DCT scaling: a photo is never decoded at full size.
      int shrink = 1;
      while (shrink < 8 && std::min(image.width(), image.height()) / (shrink * 2) >= size) shrink *= 2;
      if (shrink > 1) image = load(shrink);
    }
    image = image.autorot();
    if (image.has_alpha()) image = image.flatten();
    if (image.guess_interpretation() != VIPS_INTERPRETATION_sRGB &&
        image.guess_interpretation() != VIPS_INTERPRETATION_B_W) {
      if (!vips_colourspace_issupported(image.get_image()))
        return std::string("colour mode ") + vips_enum_nick(VIPS_TYPE_INTERPRETATION, image.interpretation()) +
               " cannot be converted to sRGB";
      image = image.colourspace(VIPS_INTERPRETATION_sRGB);
    }
    if (image.format() != VIPS_FORMAT_UCHAR) image = image.cast(VIPS_FORMAT_UCHAR);
    if (image.bands() == 2) image = image.extract_band(0);
    else if (image.bands() > 3) image = image.extract_band(0, VImage::option()->set("n", 3));
    size_t length = 0;
    std::unique_ptr<void, decltype(&g_free)> memory(image.write_to_memory(&length), g_free);
    out->width = image.width();
    out->height = image.height();
    out->bands = image.bands();
    const auto* p = static_cast<const uint8_t*>(memory.get());
    out->data.assign(p, p + length);
  } catch (const VError& e) {
    return first_line(e.what());
  }
  return "";
}

}  // namespace

void add_pixel_counters(ImageCounters* counters) {
  counters->pixels_png = g_png.load(std::memory_order_relaxed);
  counters->pixels_vips = g_vips.load(std::memory_order_relaxed);
}

}  // namespace media

ImagePixels decode_pixels(std::string_view bytes, int size, uint64_t max_pixels) {
  if (size < 1 || size > 4096)
    fail(ErrorCode::kInvalidInput, "image size " + std::to_string(size) + " is outside 1..4096");
  ImagePixels out;
  if (const char* refusal = refuse_before_decoding(bytes)) {
    out.error = refusal;
    return out;
  }
  media::Raster raster;
  media::Fast fast = media::Fast::kDeclined;
  if (bytes.size() > sizeof media::kPngSignature &&
      std::memcmp(bytes.data(), media::kPngSignature, sizeof media::kPngSignature) == 0) {
    media::PngRead read;
    read.bytes = bytes;
    fast = media::read_png(read, max_pixels, &raster);
    if (fast == media::Fast::kFailed) {
      out.error = read.error;
      return out;
    }
  }
  if (fast == media::Fast::kDecoded) {
    media::g_png.fetch_add(1, std::memory_order_relaxed);
  } else {
    media::g_vips.fetch_add(1, std::memory_order_relaxed);
    raster = {};
    out.error = media::read_vips(bytes, size, max_pixels, &raster);
    if (!out.error.empty()) return out;
  }
  if (raster.bands != 1 && raster.bands != 3) {
    out.error = "unexpected " + std::to_string(raster.bands) + " bands after conversion to sRGB";
    return out;
  }
  out.chw.resize(size_t(3) * size * size);
  media::resample_to_planes(raster, size, out.chw.data());
  return out;
}

}  // namespace kura
