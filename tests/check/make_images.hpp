// Real problem images made with libvips for the kura fix tests: each one
// has exactly the problem its name says, and a colour or layout that a test
// can recognise after the fix.
#pragma once

#include <glib.h>

#include <memory>
#include <string>
#include <vips/vips8>

#include "kura/image_facts.hpp"

namespace kura::test {

using vips::VImage;

inline std::string encode(const VImage& image, const char* suffix) {
  void* buf = nullptr;
  size_t size = 0;
  image.write_to_buffer(suffix, &buf, &size);
  std::unique_ptr<void, decltype(&g_free)> owned(buf, g_free);
  return std::string(static_cast<const char*>(buf), size);
}

inline VImage solid(int width, int height, std::vector<double> colour) {
  kura::init_image_library();  // the process's libvips, started as kura starts it
  return (VImage::black(width, height, VImage::option()->set("bands", int(colour.size()))) + colour)
      .cast(VIPS_FORMAT_UCHAR);
}

// A 64x48 CMYK JPEG of pure red ink: C 0, M 100%, Y 100%, K 0.
inline std::string cmyk_jpeg() {
  return encode(solid(64, 48, {0, 255, 255, 0}).copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_CMYK)),
                ".jpg");
}

// A 40x30 16-bit RGB PNG, mid grey (32896 = 128 * 257 in every band).
inline std::string rgb16_png() {
  VImage image = (VImage::black(40, 30, VImage::option()->set("bands", 3)) + 32896).cast(VIPS_FORMAT_USHORT);
  return encode(image.copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_RGB16)), ".png");
}

// A 32x24 GIF, one colour.
inline std::string red_gif() { return encode(solid(32, 24, {200, 30, 30}), ".gif"); }

// A side x side PNG of RGB noise (incompressible: about 3 bytes a pixel).
inline std::string noise_png(int side) {
  kura::init_image_library();
  auto band = [&] { return VImage::gaussnoise(side, side, VImage::option()->set("sigma", 80.0)); };
  return encode(band().bandjoin(band()).bandjoin(band()).cast(VIPS_FORMAT_UCHAR).copy(
                    VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB)),
                ".png");
}

// A 60x40 JPEG stored sideways with EXIF orientation 6: its left half is
// white, the right half black, so upright (40x60) the top half is white.
inline std::string rotated_jpeg() {
  kura::init_image_library();
  VImage image = (VImage::black(30, 40) + 255).embed(0, 0, 60, 40).cast(VIPS_FORMAT_UCHAR)
                     .colourspace(VIPS_INTERPRETATION_sRGB).copy();
  image.set("orientation", 6);
  return encode(image, ".jpg");
}

// The pixels of `bytes`, decoded now (libvips reads a buffer lazily, and
// the caller's bytes may be a temporary).
inline VImage decode(const std::string& bytes) {
  return VImage::new_from_buffer(bytes.data(), bytes.size(), "").copy_memory();
}

}  // namespace kura::test
