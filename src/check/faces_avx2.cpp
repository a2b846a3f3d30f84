// The face scan built with -mavx2 -mfma (CMakeLists.txt sets the flags on
// this file only); faces.cpp calls it when the CPU has AVX2 and FMA. See
// faces_scan.hpp for why dlib is renamed here.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#if !defined(__AVX2__) || !defined(__FMA__)
#error "faces_avx2.cpp must be compiled with -mavx2 -mfma"
#endif

#define dlib kura_dlib_avx2
#define KURA_FACES_NS avx2
#include "check/faces_scan.hpp"
#undef KURA_FACES_NS
#undef dlib

namespace kura::check::avx2 {

std::vector<std::array<int, 4>> find_faces(const std::string& model, const uint8_t* grey, int width,
                                           int height, int scan_width, int scan_height) {
  thread_local Detector detector = detector_from(model);
  return scan(detector, grey, width, height, scan_width, scan_height);
}

}  // namespace kura::check::avx2
