#include "check/faces.hpp"

#include <dlib/image_processing/frontal_face_detector.h>

#include <cstring>

namespace kura::check {

namespace {

// get_frontal_face_detector() decodes and deserialises the embedded model
// (tens of milliseconds); do that once and copy it per thread, because
// scanning mutates the detector's internal buffers.
const dlib::frontal_face_detector& prototype() {
  static const dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
  return detector;
}

}  // namespace

std::vector<std::array<int, 4>> find_faces(const uint8_t* grey, int width, int height) {
  thread_local dlib::frontal_face_detector detector = prototype();
  dlib::array2d<unsigned char> image(height, width);
  for (int y = 0; y < height; ++y) {
    std::memcpy(&image[y][0], grey + static_cast<size_t>(y) * width, width);
  }
  std::vector<std::array<int, 4>> boxes;
  for (const dlib::rectangle& r : detector(image)) {
    boxes.push_back({static_cast<int>(r.left()), static_cast<int>(r.top()),
                     static_cast<int>(r.width()), static_cast<int>(r.height())});
  }
  return boxes;
}

}  // namespace kura::check
