// The face scan (src/check/faces*.hpp) against dlib itself, on real photos:
// kura's resize, HOG features and detection loop must give dlib's bytes,
// features and boxes; and the product path must keep finding every labelled
// face of dlib's example photos (tests/check/data/faces, see its README),
// so that a change that loses recall fails here, not only in the bench.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <vips/vips8>

#define KURA_FACES_NS copy
#include "check/faces_scan.hpp"
#undef KURA_FACES_NS

#include "kura/image_facts.hpp"
#include "support.hpp"

using namespace kura;
using vips::VImage;

namespace {

const char* const kLabelled[] = {"2007_007763", "2008_001009", "2008_001322", "2008_002079", "2008_002470",
                                 "2008_002506", "2008_004176", "2008_007676", "2009_004587"};

std::string data(const std::string& name) { return test::read_file(test::data_path("../check/data/" + name)); }

// A photo of tests/check/data in 8-bit grey: its pixels, row by row.
std::string grey_pixels(const std::string& name, long& width, long& height) {
  init_image_library();
  const std::string bytes = data(name);
  VImage image = VImage::new_from_buffer(bytes.data(), bytes.size(), "");
  image = image.colourspace(VIPS_INTERPRETATION_B_W).extract_band(0).cast(VIPS_FORMAT_UCHAR);
  size_t size = 0;
  std::unique_ptr<void, decltype(&g_free)> pixels(image.write_to_memory(&size), g_free);
  width = image.width();
  height = image.height();
  REQUIRE(size == size_t(width * height));
  return std::string(static_cast<const char*>(pixels.get()), size);
}

// The same, as dlib's image type.
dlib::array2d<unsigned char> grey(const std::string& name) {
  long width = 0, height = 0;
  const std::string pixels = grey_pixels(name, width, height);
  dlib::array2d<unsigned char> out(height, width);
  std::memcpy(&out[0][0], pixels.data(), pixels.size());
  return out;
}

// The photos of the tests, as dlib's image type.
std::vector<std::pair<std::string, dlib::array2d<unsigned char>>> photos() {
  std::vector<std::pair<std::string, dlib::array2d<unsigned char>>> out;
  for (const char* name : {"messi.jpg", "astronaut.jpg", "branches.jpg", "baboon.jpg"}) out.emplace_back(name, grey(name));
  for (const char* stem : kLabelled) out.emplace_back(stem, grey(std::string("faces/") + stem + ".jpg"));
  return out;
}

// A w x h piece of `image` from (x, y).
dlib::array2d<unsigned char> piece(const dlib::array2d<unsigned char>& image, long x, long y, long w, long h) {
  dlib::array2d<unsigned char> out(h, w);
  for (long r = 0; r < h; ++r) std::memcpy(&out[r][0], &image[y + r][x], w);
  return out;
}

std::string model() {
  std::ostringstream out;
  dlib::serialize(dlib::get_frontal_face_detector(), out);
  return out.str();
}

}  // namespace

namespace kura::test {
// For faces_avx2_test.cpp, where dlib is renamed and its library is not linked.
std::string face_model() { return model(); }
std::string face_photo(const std::string& name, long& width, long& height) { return grey_pixels(name, width, height); }
}  // namespace kura::test

TEST_CASE("kura's bilinear resize gives dlib's bytes", "[check][faces]") {
  // Up 2x and 1.75x (the scan's scales), down 3/4 (each pyramid level) and
  // to other sizes, of whole photos and of pieces of them of many sizes.
  std::mt19937 random(14);
  size_t compared = 0;
  for (const auto& [name, photo] : photos()) {
    CAPTURE(name);
    std::vector<std::array<long, 4>> sizes = {{photo.nr(), photo.nc(), 2 * photo.nr(), 2 * photo.nc()},
                                              {photo.nr(), photo.nc(), 7 * photo.nr() / 4, 7 * photo.nc() / 4},
                                              {photo.nr(), photo.nc(), 3 * photo.nr() / 4, 3 * photo.nc() / 4}};
    for (int i = 0; i < 12; ++i) {
      const long h = 1 + random() % photo.nr(), w = 1 + random() % photo.nc();
      sizes.push_back({h, w, long(1 + random() % 700), long(1 + random() % 700)});
    }
    for (const auto& [h, w, out_h, out_w] : sizes) {
      CAPTURE(h, w, out_h, out_w);
      const dlib::array2d<unsigned char> in = piece(photo, 0, 0, w, h);
      dlib::array2d<unsigned char> ours(out_h, out_w), theirs(out_h, out_w);
      kura::check::copy::resize_grey(in, ours);
      dlib::resize_image(in, theirs);
      REQUIRE(std::memcmp(&ours[0][0], &theirs[0][0], ours.size()) == 0);
      compared += ours.size();
    }
  }
  CHECK(compared > 10'000'000);
}

TEST_CASE("kura's FHOG features are dlib's bit for bit", "[check][faces]") {
  std::mt19937 random(31);
  const kura::check::copy::Features features;
  size_t compared = 0;
  for (const auto& [name, photo] : photos()) {
    CAPTURE(name);
    std::vector<std::array<long, 4>> pieces = {{0, 0, photo.nc(), photo.nr()}};
    for (int i = 0; i < 6; ++i) {
      const long w = 1 + random() % photo.nc(), h = 1 + random() % photo.nr();
      pieces.push_back({long(random() % (photo.nc() - w + 1)), long(random() % (photo.nr() - h + 1)), w, h});
    }
    for (const auto& [x, y, w, h] : pieces) {
      CAPTURE(x, y, w, h);
      const dlib::array2d<unsigned char> in = piece(photo, x, y, w, h);
      dlib::array<dlib::array2d<float>> ours, theirs;
      features(in, ours, 8, 10, 10);
      dlib::extract_fhog_features(in, theirs, 8, 10, 10);
      REQUIRE(ours.size() == theirs.size());
      for (size_t p = 0; p < ours.size(); ++p) {
        REQUIRE(ours[p].nr() == theirs[p].nr());
        REQUIRE(ours[p].nc() == theirs[p].nc());
        if (ours[p].size() == 0) continue;
        REQUIRE(std::memcmp(&ours[p][0][0], &theirs[p][0][0], ours[p].size() * sizeof(float)) == 0);
        compared += ours[p].size();
      }
    }
  }
  CHECK(compared > 1'000'000);
}

TEST_CASE("kura's detector loop finds dlib's boxes", "[check][faces]") {
  // dlib's own object_detector with the same model and pyramid, on the
  // photos as they are and up-sampled 2x (as the scan does for 40 px faces).
  const std::string bytes = model();
  kura::check::copy::Detector ours(bytes);
  dlib::object_detector<dlib::scan_fhog_pyramid<dlib::pyramid_down<4>>> theirs;
  std::istringstream in(bytes);
  dlib::deserialize(theirs, in);
  size_t boxes = 0;
  for (const auto& [name, photo] : photos()) {
    CAPTURE(name);
    dlib::array2d<unsigned char> up(2 * photo.nr(), 2 * photo.nc());
    dlib::resize_image(photo, up);
    const dlib::array2d<unsigned char>& twice = up;
    for (const auto* image : {&photo, &twice}) {
      const std::vector<dlib::rectangle> expected = theirs(*image);
      CHECK(ours(*image) == expected);
      boxes += expected.size();
    }
  }
  CHECK(boxes >= 43);  // the labelled faces at least: the comparison is not of empty lists
}

TEST_CASE("every labelled face of dlib's example photos is found and nothing else", "[check][faces]") {
  // 43 faces of 37-53 px labelled in dlib's training.xml and testing.xml;
  // a face counts as found when a box overlaps it with an intersection over
  // union of 0.3 or more (bench/face_recall.sh counts the same way).
  std::map<std::string, std::vector<std::array<double, 4>>> labels;
  for (const char* xml : {"faces/training.xml", "faces/testing.xml"}) {
    const std::string text = data(xml);
    const std::regex image_re("<image file='([^']+)\\.jpg'[^>]*>([\\s\\S]*?)</image>");
    const std::regex box_re("<box top='(\\d+)' left='(\\d+)' width='(\\d+)' height='(\\d+)'");
    for (std::sregex_iterator i(text.begin(), text.end(), image_re), end; i != end; ++i) {
      const std::string body = (*i)[2];
      for (std::sregex_iterator b(body.begin(), body.end(), box_re); b != end; ++b) {
        labels[(*i)[1]].push_back({std::stod((*b)[2]), std::stod((*b)[1]), std::stod((*b)[3]), std::stod((*b)[4])});
      }
    }
  }
  auto iou = [](const std::array<double, 4>& a, const std::array<int, 4>& b) {
    const double w = std::max(0.0, std::min(a[0] + a[2], double(b[0] + b[2])) - std::max(a[0], double(b[0])));
    const double h = std::max(0.0, std::min(a[1] + a[3], double(b[1] + b[3])) - std::max(a[1], double(b[1])));
    return w * h / (a[2] * a[3] + double(b[2]) * b[3] - w * h);
  };
  ImageOptions options;
  options.detect_faces = true;  // the default min_face_px, 40
  size_t faces = 0, found = 0, false_alarms = 0;
  for (const char* stem : kLabelled) {
    CAPTURE(stem);
    const ImageFacts facts = inspect_image(data(std::string("faces/") + stem + ".jpg"), options);
    REQUIRE(facts.decodes);
    CHECK(facts.face_scan_min_px <= 42);
    std::vector<bool> used(facts.face_boxes.size(), false);
    for (const auto& label : labels.at(stem)) {
      ++faces;
      double best = 0;
      size_t best_i = 0;
      for (size_t i = 0; i < facts.face_boxes.size(); ++i) {
        if (!used[i] && iou(label, facts.face_boxes[i]) > best) best = iou(label, facts.face_boxes[i]), best_i = i;
      }
      if (best >= 0.3) used[best_i] = true, ++found;
    }
    false_alarms += std::count(used.begin(), used.end(), false);
  }
  CHECK(faces == 43);
  CHECK(found == 43);
  CHECK(false_alarms == 0);
}
