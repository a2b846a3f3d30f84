// The image module's entry point (see media_api.hpp): the table of functions
// the kura library calls once it has loaded libkura-media.so.
#include <new>
#include <string>

#include "check/media_api.hpp"
#include "kura/error.hpp"

namespace kura {
namespace {

void carry(MediaError* error, ErrorCode code, const std::string& message) {
  error->code = static_cast<int>(code);
  error->message = message;
}

// Runs `work` and gives back its result; an exception becomes *error
// instead (the module's functions do not throw across the library
// boundary), with "out of memory while <doing>" or "<failed> failed: ...".
template <typename Work>
auto guarded(MediaError* error, const char* doing, const char* failed, Work work) -> decltype(work()) {
  try {
    return work();
  } catch (const Error& e) {
    carry(error, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    carry(error, ErrorCode::kIo, std::string("out of memory while ") + doing);
  } catch (const std::exception& e) {
    carry(error, ErrorCode::kIo, std::string(failed) + " failed: " + e.what());
  }
  return {};
}

ImageFacts inspect(std::string_view bytes, const ImageOptions& options, MediaError* error) {
  return guarded(error, "inspecting an image", "image inspection", [&] { return inspect_image(bytes, options); });
}

void init(MediaError* error) {
  try {
    init_image_library();
  } catch (const Error& e) {
    carry(error, e.code(), e.what());
  } catch (const std::exception& e) {
    carry(error, ErrorCode::kIo, std::string("cannot start libvips: ") + e.what());
  }
}

Thumbnail thumbnail(std::string_view bytes, int max_side, uint64_t max_pixels, MediaError* error) {
  return guarded(error, "making a thumbnail", "thumbnail",
                 [&] { return make_thumbnail(bytes, max_side, max_pixels); });
}

RepairedImage repair(std::string_view bytes, const ImageRepair& what, MediaError* error) {
  return guarded(error, "repairing an image", "image repair", [&] { return repair_image(bytes, what); });
}

ImagePixels pixels(std::string_view bytes, int size, uint64_t max_pixels, MediaError* error) {
  return guarded(error, "decoding an image", "image decoding", [&] { return decode_pixels(bytes, size, max_pixels); });
}

const MediaApi kApi{MediaAbi{}, KURA_VERSION, inspect, init, image_counters, thumbnail, repair, pixels};

}  // namespace
}  // namespace kura

extern "C" __attribute__((visibility("default"))) const kura::MediaApi* kura_media_api_v1() {
  return &kura::kApi;
}
