// decode_pixels (kura/image_facts.hpp), the decoder of kura train, eval and
// predict: Pillow's bilinear resampling, libpng for plain 8-bit PNGs and
// libvips for the rest with the same pixels, errors that say why.
#include <vips/vips.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "kura/error.hpp"
#include "kura/image_facts.hpp"
#include "support.hpp"

namespace {

// `pixels` (rows packed, `bands` interleaved) encoded by libvips as `suffix`
// (".png", ".tif"); `alpha` adds an opaque alpha band.
std::string encode(const std::vector<uint8_t>& pixels, int width, int height, int bands, const char* suffix,
                   bool alpha = false) {
  VipsImage* image = vips_image_new_from_memory_copy(pixels.data(), pixels.size(), width, height, bands, VIPS_FORMAT_UCHAR);
  REQUIRE(image);
  if (alpha) {
    VipsImage* with = nullptr;
    REQUIRE(vips_bandjoin_const1(image, &with, 255, nullptr) == 0);
    g_object_unref(image);
    image = with;
  }
  void* buf = nullptr;
  size_t len = 0;
  REQUIRE(vips_image_write_to_buffer(image, suffix, &buf, &len, nullptr) == 0);
  std::string out(static_cast<char*>(buf), len);
  g_free(buf);
  g_object_unref(image);
  return out;
}

std::vector<uint8_t> planes(const kura::ImagePixels& p, int plane) {
  const size_t n = p.chw.size() / 3;
  return {p.chw.begin() + plane * n, p.chw.begin() + (plane + 1) * n};
}

// 5 x 3 grey, value (50 x + 30 y) mod 256.
std::vector<uint8_t> ramp() {
  std::vector<uint8_t> out;
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 5; ++x) out.push_back(static_cast<uint8_t>((x * 50 + y * 30) % 256));
  return out;
}

}  // namespace

TEST_CASE("decode_pixels resamples a grey PNG exactly as Pillow's bilinear resize does", "[train][decode]") {
  const auto before = kura::image_counters();
  kura::ImagePixels p = kura::decode_pixels(encode(ramp(), 5, 3, 1, ".png"), 4);
  REQUIRE(p.error.empty());
  REQUIRE(p.chw.size() == 3 * 16);
  // Pillow 9.4: Image.fromarray(ramp, "L").resize((4, 4), Image.BILINEAR).
  const std::vector<uint8_t> pillow = {13, 71, 129, 188, 32, 90, 148, 207, 54, 112, 170, 157, 73, 131, 189, 56};
  CHECK(planes(p, 0) == pillow);
  CHECK(planes(p, 1) == pillow);  // grey goes to all three planes
  CHECK(planes(p, 2) == pillow);
  const auto after = kura::image_counters();
  CHECK(after.pixels_png == before.pixels_png + 1);  // libpng alone
  CHECK(after.pixels_vips == before.pixels_vips);
}

TEST_CASE("decode_pixels shrinks an RGB PNG as Pillow does and keeps the planes apart", "[train][decode]") {
  std::vector<uint8_t> rgb;
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x)
      for (int c = 0; c < 3; ++c) rgb.push_back(static_cast<uint8_t>((x * 90 + y * 40 + c * 70) % 256));
  kura::ImagePixels p = kura::decode_pixels(encode(rgb, 3, 2, 3, ".png"), 2);
  REQUIRE(p.error.empty());
  // Pillow 9.4: Image.fromarray(rgb, "RGB").resize((2, 2), Image.BILINEAR), as planes.
  CHECK(planes(p, 0) == std::vector<uint8_t>{34, 146, 74, 186});
  CHECK(planes(p, 1) == std::vector<uint8_t>{104, 216, 144, 96});
  CHECK(planes(p, 2) == std::vector<uint8_t>{174, 126, 118, 70});
}

TEST_CASE("the same pixels give the same result through libpng and through libvips", "[train][decode]") {
  // A PNG with an opaque alpha band and a TIFF are libvips' to decode.
  const std::string plain = encode(ramp(), 5, 3, 1, ".png"), with_alpha = encode(ramp(), 5, 3, 1, ".png", true),
                    tiff = encode(ramp(), 5, 3, 1, ".tif");
  for (int size : {2, 4, 7, 32}) {
    INFO("size " << size);
    const auto before = kura::image_counters();
    kura::ImagePixels a = kura::decode_pixels(plain, size), b = kura::decode_pixels(with_alpha, size),
                      c = kura::decode_pixels(tiff, size);
    REQUIRE(a.error.empty());
    REQUIRE(b.error.empty());
    REQUIRE(c.error.empty());
    CHECK(a.chw.size() == static_cast<size_t>(3 * size * size));
    CHECK(a.chw == b.chw);
    CHECK(a.chw == c.chw);
    const auto after = kura::image_counters();
    CHECK(after.pixels_png == before.pixels_png + 1);
    CHECK(after.pixels_vips == before.pixels_vips + 2);
  }
}

TEST_CASE("decode_pixels decodes the test photos and says why a file does not decode", "[train][decode]") {
  for (const char* name : {"fish.jpg", "linux.jpg", "pic1.png", "blox.webp"}) {
    INFO(name);
    kura::ImagePixels p = kura::decode_pixels(kura::test::read_file(kura::test::data_path(name)), 32);
    CHECK(p.error.empty());
    CHECK(p.chw.size() == 3 * 32 * 32);
  }
  const std::string png = encode(ramp(), 5, 3, 1, ".png");
  kura::ImagePixels truncated = kura::decode_pixels(png.substr(0, png.size() - 20), 8);
  CHECK(truncated.chw.empty());
  CHECK_FALSE(truncated.error.empty());
  CHECK(kura::decode_pixels("just text", 8).error == "not an image: no known format signature");
  CHECK(kura::decode_pixels("", 8).error == "empty file");
  CHECK(kura::decode_pixels(png, 8, 10).error == "image has 15 pixels, over the limit of 10");
  const std::string jpeg = kura::test::read_file(kura::test::data_path("fish.jpg"));
  CHECK(kura::decode_pixels(jpeg.substr(0, jpeg.size() / 2), 8).error.size() > 0);
  CHECK_THROWS_AS(kura::decode_pixels(png, 0), kura::Error);
}
