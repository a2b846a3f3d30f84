// inspect_image() on real problem images (tests/check/data, see its README).
#include "kura/image_facts.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>

#include "kura/error.hpp"
#include "support.hpp"
#include "util/parallel.hpp"

using namespace kura;

namespace {

std::string image(const std::string& name) {
  return test::read_file(test::data_path("../check/data/" + name));
}

ImageFacts inspect(const std::string& name, ImageOptions options = {}) {
  return inspect_image(image(name), options);
}

ImageOptions with_faces(int min_face_px = 40) {
  ImageOptions options;
  options.detect_faces = true;
  options.min_face_px = min_face_px;
  return options;
}

}  // namespace

TEST_CASE("a CMYK JPEG reports interpretation cmyk and still decodes", "[check][image][fast]") {
  ImageFacts f = inspect("cmyk.jpg");
  CHECK(f.format == ImageFormat::kJpeg);
  CHECK(f.format_name == "jpeg");
  CHECK(f.width == 150);
  CHECK(f.height == 103);
  CHECK(f.bands == 4);
  CHECK(f.interpretation == "cmyk");
  CHECK(f.bits_per_sample == 8);
  CHECK(f.decodes);
  CHECK(f.decode_error.empty());
  CHECK(f.phash != 0);
}

TEST_CASE("grey and 16-bit PNGs report their colour mode and sample size", "[check][image][fast]") {
  ImageFacts grey = inspect("grey.png");
  CHECK(grey.interpretation == "b-w");
  CHECK(grey.bands == 1);
  CHECK(grey.bits_per_sample == 8);
  CHECK_FALSE(grey.palette);

  ImageFacts grey16 = inspect("grey16.png");
  CHECK(grey16.interpretation == "grey16");
  CHECK(grey16.bits_per_sample == 16);

  ImageFacts rgb16 = inspect("rgb16.png");
  CHECK(rgb16.interpretation == "rgb16");
  CHECK(rgb16.bits_per_sample == 16);
  CHECK(rgb16.bands == 3);
  CHECK(rgb16.decodes);
  CHECK(rgb16.phash != 0);
}

TEST_CASE("palette PNGs and GIFs report palette, alpha images report alpha",
          "[check][image][fast]") {
  ImageFacts png = inspect("palette.png");
  CHECK(png.palette);
  CHECK(png.interpretation == "srgb");  // libvips expands the palette to RGB

  ImageFacts gif = inspect("palette.gif");
  CHECK(gif.format == ImageFormat::kGif);
  CHECK(gif.palette);
  CHECK(gif.pages == 1);
  CHECK(gif.decodes);

  CHECK(inspect("alpha.png").has_alpha);
  CHECK_FALSE(inspect("alpha.png").palette);
  ImageFacts webp = inspect("alpha.webp");
  CHECK(webp.format == ImageFormat::kWebp);
  CHECK(webp.has_alpha);
  CHECK(webp.decodes);
}

TEST_CASE("a JPEG cut in half is read but does not decode", "[check][image][fast]") {
  ImageFacts f = inspect("truncated.jpg", with_faces());
  CHECK(f.format == ImageFormat::kJpeg);
  CHECK(f.width == 150);  // the header is intact
  CHECK_FALSE(f.decodes);
  CHECK(f.decode_error == "Premature end of input file");
  CHECK(f.phash == 0);
  CHECK(f.faces == -1);
}

TEST_CASE("a photo cut short is caught although JPEGs are decoded shrunk", "[check][image][fast]") {
  // 512x480: hashed from a 1/4-scale decode, which still reads every block.
  ImageFacts f = inspect("fruits-cut.jpg");
  CHECK(f.width == 512);
  CHECK_FALSE(f.decodes);
  CHECK(f.decode_error == "Premature end of input file");
  CHECK(inspect("fruits.jpg").decodes);
}

TEST_CASE("a PNG cut short does not decode", "[check][image][fast]") {
  ImageFacts f = inspect("truncated.png");
  CHECK(f.format == ImageFormat::kPng);
  CHECK(f.width == 150);
  CHECK_FALSE(f.decodes);
  CHECK_FALSE(f.decode_error.empty());
  CHECK(f.decode_error.find('\n') == std::string::npos);
}

TEST_CASE("a JPEG whose header is cut does not even give a size", "[check][image][fast]") {
  ImageFacts f = inspect("header-truncated.jpg");
  CHECK(f.format == ImageFormat::kJpeg);
  CHECK(f.width == 0);
  CHECK_FALSE(f.decodes);
  CHECK_FALSE(f.decode_error.empty());
}

TEST_CASE("EXIF orientation comes from the header, 1 when absent", "[check][image][fast]") {
  for (int i = 1; i <= 8; ++i) {
    CAPTURE(i);
    ImageFacts f = inspect("orientation_" + std::to_string(i) + ".jpg");
    CHECK(f.exif_orientation == i);
    CHECK(f.width == (i >= 5 ? 70 : 50));  // stored size, not rotated
  }
  CHECK(inspect("video-001.jpg").exif_orientation == 1);
}

TEST_CASE("the perceptual hash is of the image as displayed", "[check][image][fast]") {
  // The same 50x70 picture stored eight ways, each undone by its EXIF
  // orientation. The stored pixels differ (each file was JPEG-encoded after
  // its own rotation), and at this size that moves a few bits more than a
  // re-encode of a larger photo does.
  uint64_t upright = inspect("orientation_1.jpg").phash;
  for (int i = 2; i <= 8; ++i) {
    CAPTURE(i);
    CHECK(hamming(inspect("orientation_" + std::to_string(i) + ".jpg").phash, upright) <= 12);
  }
  CHECK(hamming(inspect("astronaut-rot.jpg").phash, inspect("astronaut.jpg").phash) <= 8);
}

TEST_CASE("a decompression bomb is refused before any pixel is decoded", "[check][image][fast]") {
  const std::string bytes = image("bomb.png");  // 20000 x 20000, 1-bit, 48 KB
  const ImageCounters before = image_counters();
  const auto start = std::chrono::steady_clock::now();
  ImageFacts f = inspect_image(bytes, with_faces());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const ImageCounters after = image_counters();
  CHECK(f.width == 20000);
  CHECK(f.height == 20000);
  CHECK(f.too_many_pixels);
  CHECK_FALSE(f.decodes);
  CHECK(f.decode_error.find("400000000 pixels") != std::string::npos);
  CHECK(f.faces == -1);
  CHECK(after.images_decoded == before.images_decoded);
  CHECK(after.faces_run == before.faces_run);
  CHECK(elapsed < std::chrono::seconds(1));

  ImageOptions generous;
  generous.max_pixels = 10;
  CHECK(inspect("grey.png", generous).too_many_pixels);  // 32 x 32 > 10
}

TEST_CASE("text, empty and unsupported bytes are reported, not thrown", "[check][image][fast]") {
  ImageFacts text = inspect_image("{\"messages\": []}\n", {});
  CHECK(text.format == ImageFormat::kUnknown);
  CHECK(text.format_name == "unknown");
  CHECK_FALSE(text.decodes);
  CHECK(text.decode_error == "not an image: no known format signature");

  ImageFacts empty = inspect_image("", {});
  CHECK(empty.format == ImageFormat::kUnknown);
  CHECK_FALSE(empty.decodes);
  CHECK(empty.decode_error == "empty file");

  // libvips reads BMP only through ImageMagick, which is blocked as untrusted.
  ImageFacts bmp = inspect("colormap.bmp");
  CHECK(bmp.format == ImageFormat::kBmp);
  CHECK_FALSE(bmp.decodes);
  CHECK_FALSE(bmp.decode_error.empty());

  // Random bytes behind a JPEG signature.
  ImageFacts junk = inspect_image(std::string("\xFF\xD8\xFF\xE0") + std::string(300, 'x'), {});
  CHECK(junk.format == ImageFormat::kJpeg);
  CHECK_FALSE(junk.decodes);
}

TEST_CASE("formats are sniffed from bytes, never from names", "[check][image][fast]") {
  CHECK(sniff_image_format(image("video-001.tiff")) == ImageFormat::kTiff);
  CHECK(sniff_image_format(image("alpha.webp")) == ImageFormat::kWebp);
  CHECK(sniff_image_format(image("colormap.bmp")) == ImageFormat::kBmp);
  CHECK(sniff_image_format(image("palette.gif")) == ImageFormat::kGif);
  CHECK(sniff_image_format("P6\n1 1\n255\nabc") == ImageFormat::kUnknown);
  ImageFacts tiff = inspect("video-001.tiff");
  CHECK(tiff.decodes);
  CHECK(tiff.width == 150);
  // A format only libvips knows (PPM) is kOther, named after its loader.
  ImageFacts ppm = inspect_image(std::string("P6\n2 1\n255\n") + std::string(6, '\x80'), {});
  CHECK(ppm.format == ImageFormat::kOther);
  CHECK(ppm.format_name == "ppm");
}

TEST_CASE("near-duplicates hash close together, different pictures far apart",
          "[check][image][fast]") {
  const uint64_t video = inspect("video-001.jpg").phash;
  const uint64_t branches = inspect("branches.jpg").phash;
  const uint64_t flowers = inspect("flowers.png").phash;
  CHECK(hamming(video, inspect("video-001.q50.jpg").phash) <= 8);       // re-encoded at Q50, 4:2:0
  CHECK(hamming(branches, inspect("branches-small.png").phash) <= 8);   // 600x400 -> 150x100
  CHECK(hamming(flowers, inspect("flowers-brighter.png").phash) <= 8);  // brightness +10%
  CHECK(hamming(video, branches) > 20);
  CHECK(hamming(video, flowers) > 20);
  CHECK(hamming(branches, flowers) > 20);
  CHECK(hamming(inspect("fruits.jpg").phash, inspect("home.jpg").phash) > 20);
}

TEST_CASE("hamming counts differing bits", "[check][image][fast]") {
  CHECK(hamming(0, 0) == 0);
  CHECK(hamming(0, ~uint64_t{0}) == 64);
  CHECK(hamming(0b1011, 0b0001) == 2);
}

namespace {

// True when one of the boxes holds the point (x, y).
bool box_at(const ImageFacts& f, int x, int y) {
  return std::any_of(f.face_boxes.begin(), f.face_boxes.end(), [&](const auto& b) {
    return b[0] <= x && x < b[0] + b[2] && b[1] <= y && y < b[1] + b[3];
  });
}

}  // namespace

TEST_CASE("faces are found in photos of people, in original pixels", "[check][image][faces]") {
  // Faces seen by eye: the astronaut's about 90 px wide around (222, 122),
  // the footballer's about 36 px around (245, 113).
  const std::map<std::string, std::array<int, 2>> faces = {{"astronaut.jpg", {222, 122}},
                                                           {"messi.jpg", {245, 113}}};
  for (const auto& [name, centre] : faces) {
    CAPTURE(name);
    ImageFacts f = inspect(name, with_faces());
    CHECK(f.faces >= 1);
    REQUIRE(f.face_boxes.size() == static_cast<size_t>(f.faces));
    CHECK(box_at(f, centre[0], centre[1]));
    // messi.jpg (548x342) is scanned at 2x for 40 px faces; astronaut.jpg
    // (512x512) would need 1.05 MP at 2x, over the 0.8 MP scan budget, so it
    // is scanned at 1.75x: faces from 46 px.
    CHECK(f.face_scan_min_px == (name == "messi.jpg" ? 40 : 46));
    for (const auto& [x, y, w, h] : f.face_boxes) {
      CHECK(x >= 0);
      CHECK(y >= 0);
      CHECK(x + w <= f.width);
      CHECK(y + h <= f.height);
    }
  }
}

TEST_CASE("the scan is sized by min_face_px", "[check][image][faces]") {
  // Scanning for 80 px faces uses a quarter of the detector pixels of the
  // 40 px scan: it still finds the astronaut (90 px) but not the 36 px face.
  ImageFacts astronaut = inspect("astronaut.jpg", with_faces(80));
  CHECK(astronaut.face_scan_min_px == 80);
  CHECK(box_at(astronaut, 222, 122));
  CHECK(inspect("messi.jpg", with_faces(80)).faces == 0);
}

TEST_CASE("faces are found in the image as displayed", "[check][image][faces]") {
  // astronaut-rot.jpg stores the photo turned a quarter left, with EXIF
  // orientation 6 to turn it back: boxes are in displayed coordinates.
  ImageFacts f = inspect("astronaut-rot.jpg", with_faces());
  CHECK(f.exif_orientation == 6);
  CHECK(f.faces >= 1);
  CHECK(box_at(f, 222, 122));
}

TEST_CASE("photos without people have no faces", "[check][image][faces]") {
  for (const char* name : {"fruits.jpg", "home.jpg", "building.jpg", "branches.jpg", "flowers.png",
                           "video-001.jpg", "baboon.jpg"}) {
    CAPTURE(name);
    CHECK(inspect(name, with_faces()).faces == 0);
  }
}

TEST_CASE("faces are looked for only when asked, and counted", "[check][image][faces]") {
  const ImageCounters before = image_counters();
  ImageFacts plain = inspect("astronaut.jpg");
  const ImageCounters middle = image_counters();
  CHECK(plain.faces == -1);
  CHECK(plain.face_boxes.empty());
  CHECK(plain.face_scan_min_px == 0);
  CHECK(middle.headers_read == before.headers_read + 1);
  CHECK(middle.images_decoded == before.images_decoded + 1);
  CHECK(middle.faces_run == before.faces_run);
  ImageFacts scanned = inspect("astronaut.jpg", with_faces());
  CHECK(image_counters().faces_run == middle.faces_run + 1);
  CHECK(scanned.phash == plain.phash);  // the hash does not depend on the options
}

TEST_CASE("an invalid option is a programming error", "[check][image][fast]") {
  ImageOptions options = with_faces(0);
  CHECK_THROWS_AS(inspect_image(image("grey.png"), options), kura::Error);
}

TEST_CASE("inspecting in parallel gives the same facts as one at a time", "[check][image]") {
  const std::vector<std::string> names = {
      "truncated.jpg", "cmyk.jpg",      "truncated.png", "palette.gif", "header-truncated.jpg",
      "bomb.png",      "astronaut.jpg", "colormap.bmp",  "rgb16.png",   "orientation_6.jpg"};
  std::vector<std::string> bytes;
  for (const auto& name : names) bytes.push_back(image(name));
  std::vector<ImageFacts> serial;
  for (const auto& b : bytes) serial.push_back(inspect_image(b, with_faces()));
  const size_t rounds = 6;
  std::vector<ImageFacts> parallel(names.size() * rounds);
  parallel_for(parallel.size(), 4, [&](size_t i) {
    parallel[i] = inspect_image(bytes[i % names.size()], with_faces());
  });
  for (size_t i = 0; i < parallel.size(); ++i) {
    const ImageFacts& a = serial[i % names.size()];
    const ImageFacts& b = parallel[i];
    CAPTURE(names[i % names.size()]);
    CHECK(a.decodes == b.decodes);
    CHECK(a.decode_error == b.decode_error);
    CHECK(a.phash == b.phash);
    CHECK(a.faces == b.faces);
    CHECK(a.face_boxes == b.face_boxes);
    CHECK(a.width == b.width);
  }
}
