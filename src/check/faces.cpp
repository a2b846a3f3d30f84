#include "check/faces.hpp"

#include <cstdlib>
#include <string_view>

#define KURA_FACES_NS generic
#include "check/faces_scan.hpp"
#undef KURA_FACES_NS

namespace kura::check {

#if defined(KURA_FACES_AVX2)
namespace avx2 {
std::vector<std::array<int, 4>> find_faces(const std::string& model, const uint8_t* grey, int width,
                                           int height);
}
#endif

namespace {

// get_frontal_face_detector() decodes and deserialises the embedded model
// (tens of milliseconds); do that once. The serialized bytes load into
// either copy of the scan; each thread keeps its own detector, because
// scanning mutates the detector's internal buffers.
const std::string& model_bytes() {
  static const std::string bytes = [] {
    std::ostringstream out;
    dlib::serialize(dlib::get_frontal_face_detector(), out);
    return out.str();
  }();
  return bytes;
}

const generic::Detector& prototype() {
  static const generic::Detector detector = generic::detector_from(model_bytes());
  return detector;
}

}  // namespace

bool faces_use_avx2() {
#if defined(KURA_FACES_AVX2) && (defined(__x86_64__) || defined(__i386__))
  static const bool yes = [] {
    const char* isa = std::getenv("KURA_FACES_ISA");
    if (isa && std::string_view(isa) == "generic") return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return yes;
#else
  return false;
#endif
}

std::vector<std::array<int, 4>> find_faces(const uint8_t* grey, int width, int height) {
#if defined(KURA_FACES_AVX2)
  if (faces_use_avx2()) return avx2::find_faces(model_bytes(), grey, width, height);
#endif
  thread_local generic::Detector detector = prototype();
  return generic::scan(detector, grey, width, height);
}

}  // namespace kura::check
