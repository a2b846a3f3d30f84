#include "check/faces.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>

#define KURA_FACES_NS generic
#include "check/faces_scan.hpp"
#undef KURA_FACES_NS

#include <dlib/revision.h>

#include "kura/object_id.hpp"
#include "kura/user_cache.hpp"

namespace kura::check {

#if defined(KURA_FACES_AVX2)
namespace avx2 {
std::vector<std::array<int, 4>> find_faces(const std::string& model, const uint8_t* grey, int width,
                                           int height, int scan_width, int scan_height);
}
#endif

namespace {

// get_frontal_face_detector() decompresses the model dlib embeds in its
// header with dlib's own entropy coder: 0.6 s of CPU, which made checking a
// single new image take 1 s. The uncompressed serialized model (the form both
// copies of the scan load) is therefore kept in the user's cache folder,
// behind its SHA-256, and read back in a few milliseconds; a missing,
// unreadable or damaged cache file just means decompressing again. Each
// thread keeps its own detector, because scanning mutates its buffers.
std::filesystem::path model_cache_file() {
  const auto dir = user_cache_dir();
  if (!dir) return {};
  return *dir / ("dlib-" + std::to_string(DLIB_MAJOR_VERSION) + "." + std::to_string(DLIB_MINOR_VERSION) + "." +
                std::to_string(DLIB_PATCH_VERSION) + "-frontal-face-detector.bin");
}

// The cache file: the model's SHA-256 (32 bytes), then the model.
std::optional<std::string> read_cached_model(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (all.size() <= ObjectId::kSize) return std::nullopt;
  std::string model = all.substr(ObjectId::kSize);
  if (sha256(model).raw() != std::string_view(all).substr(0, ObjectId::kSize)) return std::nullopt;
  return model;
}

void write_cached_model(const std::filesystem::path& file, const std::string& model) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  const std::filesystem::path tmp = file.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << sha256(model).raw() << model;
    if (!out.flush()) {
      std::filesystem::remove(tmp, ec);
      return;  // a cache only: no space or no permission is not an error
    }
  }
  std::filesystem::rename(tmp, file, ec);  // atomic: readers see the old file or the whole new one
  if (ec) std::filesystem::remove(tmp, ec);
}

const std::string& model_bytes() {
  static const std::string bytes = [] {
    const std::filesystem::path file = model_cache_file();
    if (!file.empty())
      if (auto cached = read_cached_model(file)) return std::move(*cached);
    std::ostringstream out;
    dlib::serialize(dlib::get_frontal_face_detector(), out);
    std::string model = out.str();
    if (!file.empty()) write_cached_model(file, model);
    return model;
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

std::vector<std::array<int, 4>> find_faces(const uint8_t* grey, int width, int height, int scan_width,
                                           int scan_height) {
#if defined(KURA_FACES_AVX2)
  if (faces_use_avx2()) {
    return avx2::find_faces(model_bytes(), grey, width, height, scan_width, scan_height);
  }
#endif
  thread_local generic::Detector detector = prototype();
  return generic::scan(detector, grey, width, height, scan_width, scan_height);
}

}  // namespace kura::check
