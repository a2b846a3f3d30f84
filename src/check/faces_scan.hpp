// The face scan itself, compiled twice: by faces.cpp for any x86-64 (SSE2)
// and by faces_avx2.cpp with -mavx2 -mfma, where dlib's headers switch to
// their 8-wide AVX code (they test __AVX__ at compile time). Private to
// src/check; include it only from those two files.
//
// dlib is header-only here, so both files instantiate the same dlib
// templates. faces_avx2.cpp therefore includes this file with `dlib` defined
// to another namespace name: its copies get other symbols, and the linker
// cannot pick an AVX instantiation for the generic path (an illegal
// instruction on an older CPU) nor the generic one for the AVX path.
// Nothing of libdlib.so is called from inside the scan, so the renamed copy
// links. The detector's weights reach the AVX copy as dlib's serialized
// bytes (dlib::serialize / deserialize are templates too).
//
// Before including, define KURA_FACES_NS to the namespace for this copy.
#include <array>
#include <cstdint>
#include <cstring>
#include <istream>
#include <sstream>
#include <string>
#include <vector>

#include <dlib/image_processing/frontal_face_detector.h>

#include "check/faces_resize.hpp"
#include "check/faces_hog.hpp"
#if defined(__AVX2__) && defined(__FMA__)
#include "check/faces_filter.hpp"
#endif
#include "check/faces_detect.hpp"

namespace kura::check::KURA_FACES_NS {

// dlib's frontal face model (its five HOG filters, unchanged) scanned over a
// pyramid that shrinks by 3/4 a level instead of the 5/6 it ships with: 2.3
// pyramid pixels per input pixel instead of 3.3, so about 30% less work.
// Measured on dlib's examples/faces (43 labelled faces in 9 photos; scanned
// at 2x, and as 1 MP copies at 1x): the same 43 / 42 faces found, and no
// detection in the 22 face-free photos of opencv-doc. A 2/3 step lost faces
// (41 of 43). See docs/checks.md. Its levels are made by resize_grey
// (faces_resize.hpp): the same pixels as dlib's resize, faster; the scan
// itself is faces_detect.hpp's Detector: the same boxes as dlib's.
inline Detector detector_from(const std::string& model) { return Detector(model); }

// Boxes (x, y, w, h) of the faces `detector` finds in the packed grey image,
// resized first (bilinear: dlib's resize_image, the interpolation the
// pyramid itself uses, as resize_grey does it) to scan_width x scan_height;
// the boxes are in those resized pixels.
inline std::vector<std::array<int, 4>> scan(Detector& detector, const uint8_t* grey, int width,
                                            int height, int scan_width, int scan_height) {
  dlib::array2d<unsigned char> image(height, width);
  for (int y = 0; y < height; ++y) {
    std::memcpy(&image[y][0], grey + static_cast<size_t>(y) * width, width);
  }
  if (scan_width != width || scan_height != height) {
    dlib::array2d<unsigned char> resized(scan_height, scan_width);
    resize_grey(image, resized);
    dlib::swap(image, resized);
  }
  std::vector<std::array<int, 4>> boxes;
  for (const dlib::rectangle& r : detector(image)) {
    boxes.push_back({static_cast<int>(r.left()), static_cast<int>(r.top()),
                     static_cast<int>(r.width()), static_cast<int>(r.height())});
  }
  return boxes;
}

}  // namespace kura::check::KURA_FACES_NS
