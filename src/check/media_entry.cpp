// The image module's entry point (see media_api.hpp): the table of functions
// the kura library calls once it has loaded libkura-media.so.
#include "check/media_api.hpp"
#include "kura/error.hpp"

namespace kura {
namespace {

void carry(MediaError* error, ErrorCode code, const std::string& message) {
  error->code = static_cast<int>(code);
  error->message = message;
}

ImageFacts inspect(std::string_view bytes, const ImageOptions& options, MediaError* error) {
  try {
    return inspect_image(bytes, options);
  } catch (const Error& e) {
    carry(error, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    carry(error, ErrorCode::kIo, "out of memory while inspecting an image");
  } catch (const std::exception& e) {
    carry(error, ErrorCode::kIo, std::string("image inspection failed: ") + e.what());
  }
  return {};
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
  try {
    return make_thumbnail(bytes, max_side, max_pixels);
  } catch (const Error& e) {
    carry(error, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    carry(error, ErrorCode::kIo, "out of memory while making a thumbnail");
  } catch (const std::exception& e) {
    carry(error, ErrorCode::kIo, std::string("thumbnail failed: ") + e.what());
  }
  return {};
}

RepairedImage repair(std::string_view bytes, const ImageRepair& what, MediaError* error) {
  try {
    return repair_image(bytes, what);
  } catch (const Error& e) {
    carry(error, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    carry(error, ErrorCode::kIo, "out of memory while repairing an image");
  } catch (const std::exception& e) {
    carry(error, ErrorCode::kIo, std::string("image repair failed: ") + e.what());
  }
  return {};
}

ImagePixels pixels(std::string_view bytes, int size, uint64_t max_pixels, MediaError* error) {
  try {
    return decode_pixels(bytes, size, max_pixels);
  } catch (const Error& e) {
    carry(error, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    carry(error, ErrorCode::kIo, "out of memory while decoding an image");
  } catch (const std::exception& e) {
    carry(error, ErrorCode::kIo, std::string("image decoding failed: ") + e.what());
  }
  return {};
}

const MediaApi kApi{MediaAbi{}, KURA_VERSION, inspect, init, image_counters, thumbnail, repair, pixels};

}  // namespace
}  // namespace kura

extern "C" __attribute__((visibility("default"))) const kura::MediaApi* kura_media_api_v1() {
  return &kura::kApi;
}
