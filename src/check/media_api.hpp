// The boundary between the kura library and its image module.
//
// Decoding images needs libvips, which loads about a hundred shared libraries
// (ImageMagick's, poppler's, HDF5's, X11's ...): 55 ms before main() on this
// project's reference machine, paid by every command that links it, even
// `kura status`. So libvips and dlib live in a module of their own,
// libkura-media.so (src/check/image_facts.cpp, faces.cpp, media_entry.cpp),
// that src/check/media.cpp loads with dlopen the first time an image has to
// be decoded. The kura library's inspect_image(), init_image_library() and
// image_counters(), make_thumbnail(), repair_image() and decode_pixels()
// forward to it through this table.
//
// Both sides are built from the same sources by the same compiler, so the
// table passes C++ types; `abi` guards against a module left over from
// another build (another version, another layout of ImageFacts).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "kura/image_facts.hpp"

namespace kura {

// A kura::Error raised inside the module, carried across as data (code -1:
// no error; else a kura::ErrorCode) and thrown again on the library's side.
struct MediaError {
  int code = -1;
  std::string message;
};

struct MediaAbi {
  size_t facts_size = sizeof(ImageFacts);
  size_t options_size = sizeof(ImageOptions);
  size_t string_size = sizeof(std::string);
  size_t thumbnail_size = sizeof(Thumbnail);
  size_t repair_size = sizeof(ImageRepair);
  size_t repaired_size = sizeof(RepairedImage);
  size_t pixels_size = sizeof(ImagePixels);
  size_t counters_size = sizeof(ImageCounters);
  int facts_version = kImageFactsVersion;
  bool operator==(const MediaAbi&) const = default;
};

struct MediaApi {
  MediaAbi abi;
  const char* version;  // KURA_VERSION of the module
  ImageFacts (*inspect)(std::string_view bytes, const ImageOptions& options, MediaError* error);
  void (*init)(MediaError* error);
  ImageCounters (*counters)();
  Thumbnail (*thumbnail)(std::string_view bytes, int max_side, uint64_t max_pixels, MediaError* error);
  RepairedImage (*repair)(std::string_view bytes, const ImageRepair& repair, MediaError* error);
  ImagePixels (*pixels)(std::string_view bytes, int size, uint64_t max_pixels, MediaError* error);
};

}  // namespace kura

// The module's only exported symbol.
extern "C" const kura::MediaApi* kura_media_api_v1();
