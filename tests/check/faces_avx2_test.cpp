// The AVX2/FMA build of the face scan (src/check/faces_avx2.cpp's copy)
// against dlib's own code compiled the same way: its FHOG features (with the
// orientation table of faces_hog.hpp) must be dlib's bit for bit,
// faces_filter.hpp's filter_plane must give the scores of dlib's
// float_spatially_filter_image_separable bit for bit, and the detector dlib's
// boxes. faces_test.cpp does the same
// for the generic build. This file is compiled with -mavx2 -mfma, with dlib
// renamed as in faces_avx2.cpp, and runs only on a CPU that has both.
#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#define dlib kura_dlib_avx2_test
#define KURA_FACES_NS avx2_test
#include "check/faces_scan.hpp"
#undef KURA_FACES_NS


namespace kura::test {
// faces_test.cpp: dlib's model, serialized; a photo of tests/check/data in
// 8-bit grey, its pixels row by row.
std::string face_model();
std::string face_photo(const std::string& name, long& width, long& height);
}

namespace {

namespace scan = kura::check::avx2_test;

bool cpu_has_avx2_fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

dlib::array2d<unsigned char> grey(const std::string& name) {
  long width = 0, height = 0;
  const std::string pixels = kura::test::face_photo(name, width, height);
  dlib::array2d<unsigned char> out(height, width);
  std::memcpy(&out[0][0], pixels.data(), pixels.size());
  return out;
}

// The test photos as they are and up-sampled 2x (the scan's scale for 40 px faces).
std::vector<std::pair<std::string, dlib::array2d<unsigned char>>> images() {
  std::vector<std::pair<std::string, dlib::array2d<unsigned char>>> out;
  for (const char* name : {"messi.jpg", "astronaut.jpg", "branches.jpg", "faces/2008_002470.jpg",
                           "faces/2009_004587.jpg", "faces/2008_001322.jpg"}) {
    dlib::array2d<unsigned char> photo = grey(name);
    dlib::array2d<unsigned char> up(2 * photo.nr(), 2 * photo.nc());
    dlib::resize_image(photo, up);
    out.emplace_back(name, std::move(photo));
    out.emplace_back(std::string(name) + " 2x", std::move(up));
  }
  return out;
}

using Scanner = dlib::scan_fhog_pyramid<scan::Pyramid>;

dlib::object_detector<Scanner> detector() {
  dlib::object_detector<Scanner> out;
  std::istringstream in(kura::test::face_model());
  dlib::deserialize(out, in);
  return out;
}

}  // namespace

TEST_CASE("the AVX2 build's FHOG features are dlib's AVX2 features bit for bit", "[check][faces]") {
  if (!cpu_has_avx2_fma()) {
    WARN("this CPU has no AVX2/FMA: the AVX2 build of the scan is not used here");
    return;
  }
  const scan::Features features;
  size_t compared = 0;
  for (const auto& [name, image] : images()) {
    CAPTURE(name);
    dlib::array<dlib::array2d<float>> ours, theirs;
    features(image, ours, 8, 10, 10);
    dlib::extract_fhog_features(image, theirs, 8, 10, 10);
    REQUIRE(ours.size() == theirs.size());
    for (size_t p = 0; p < ours.size(); ++p) {
      REQUIRE(ours[p].nr() == theirs[p].nr());
      REQUIRE(ours[p].nc() == theirs[p].nc());
      REQUIRE(std::memcmp(&ours[p][0][0], &theirs[p][0][0], ours[p].size() * sizeof(float)) == 0);
      compared += ours[p].size();
    }
  }
  CHECK(compared > 1'000'000);
}

TEST_CASE("the AVX2 filter sweep gives dlib's AVX2 scores bit for bit", "[check][faces]") {
  if (!cpu_has_avx2_fma()) {
    WARN("this CPU has no AVX2/FMA: the AVX2 build of the scan is not used here");
    return;
  }
  const dlib::object_detector<Scanner> theirs = detector();
  const Scanner& scanner = theirs.get_scanner();
  std::vector<Scanner::fhog_filterbank> banks;
  for (unsigned long i = 0; i < theirs.num_detectors(); ++i) {
    banks.push_back(scanner.build_fhog_filterbank(theirs.get_w(i)));
  }
  const scan::Features features;
  scan::FilterScratch scratch;
  size_t compared = 0, tails = 0;
  for (const auto& [name, image] : images()) {
    CAPTURE(name);
    dlib::array<dlib::array<dlib::array2d<float>>> levels;
    dlib::impl::create_fhog_pyramid<scan::Pyramid>(image, features, levels, 8, 10, 10,
                                                   scanner.get_min_pyramid_layer_width(),
                                                   scanner.get_min_pyramid_layer_height(),
                                                   scanner.get_max_pyramid_levels());
    for (unsigned long level = 0; level < levels.size(); ++level) {
      CAPTURE(level);
      const auto& planes = levels[level];
      const long nr = planes[0].nr(), nc = planes[0].nc();
      std::vector<dlib::array2d<float>> expected(banks.size()), ours(banks.size());
      dlib::array2d<float> dlib_scratch;
      std::vector<bool> started(banks.size(), false);
      std::vector<std::vector<scan::Rank>> ranks(planes.size());
      for (size_t b = 0; b < banks.size(); ++b) ours[b].set_size(nr, nc);
      for (unsigned long i = 0; i < planes.size(); ++i) {
        for (size_t b = 0; b < banks.size(); ++b) {
          for (size_t j = 0; j < banks[b].row_filters[i].size(); ++j) {
            dlib::float_spatially_filter_image_separable(planes[i], expected[b], banks[b].row_filters[i][j],
                                                         banks[b].col_filters[i][j], dlib_scratch, started[b]);
            ranks[i].push_back({&banks[b].row_filters[i][j](0), &banks[b].col_filters[i][j](0), &ours[b][0][0],
                                !started[b]});
            started[b] = true;
          }
        }
      }
      for (unsigned long i = 0; i < planes.size(); ++i) scan::filter_plane(&planes[i][0][0], nr, nc, ranks[i], scratch);
      // dlib's valid area: rows and columns 5 to n - 5.
      long vector_end = 5;
      while (vector_end < nc - 4 - 7) vector_end += 8;
      for (size_t b = 0; b < banks.size(); ++b) {
        for (long r = 5; r < nr - 4; ++r) {
          REQUIRE(std::memcmp(&ours[b][r][5], &expected[b][r][5], (nc - 9) * sizeof(float)) == 0);
          compared += nc - 9;
          tails += nc - 4 - vector_end;  // the columns of dlib's scalar loop
        }
      }
    }
  }
  CHECK(compared > 1'000'000);
  CHECK(tails > 10'000);
}

TEST_CASE("the AVX2 build of kura's detector finds dlib's boxes", "[check][faces]") {
  if (!cpu_has_avx2_fma()) {
    WARN("this CPU has no AVX2/FMA: the AVX2 build of the scan is not used here");
    return;
  }
  dlib::object_detector<dlib::scan_fhog_pyramid<dlib::pyramid_down<4>>> theirs;
  std::istringstream model(kura::test::face_model());
  dlib::deserialize(theirs, model);
  scan::Detector ours(kura::test::face_model());
  size_t boxes = 0;
  for (const auto& [name, image] : images()) {
    CAPTURE(name);
    const std::vector<dlib::rectangle> expected = theirs(image);
    CHECK(ours(image) == expected);
    boxes += expected.size();
  }
  CHECK(boxes >= 20);  // faces in the labelled photos: the lists compared are not empty
}
