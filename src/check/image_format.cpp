// The image facts that need no decoder: the format from magic bytes, its
// name, and the distance between two perceptual hashes. Compiled into the
// kura library and into the image module (src/check/media_entry.cpp), so that
// sniffing a format never loads libvips.
#include <bit>

#include "kura/image_facts.hpp"

namespace kura {

std::string_view image_format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg:
      return "jpeg";
    case ImageFormat::kPng:
      return "png";
    case ImageFormat::kWebp:
      return "webp";
    case ImageFormat::kGif:
      return "gif";
    case ImageFormat::kBmp:
      return "bmp";
    case ImageFormat::kTiff:
      return "tiff";
    case ImageFormat::kHeif:
      return "heif";
    case ImageFormat::kOther:
      return "other";
    case ImageFormat::kUnknown:
      break;
  }
  return "unknown";
}

const char* refuse_before_decoding(std::string_view bytes) {
  if (bytes.empty()) return "empty file";
  if (sniff_image_format(bytes) == ImageFormat::kUnknown) return "not an image: no known format signature";
  return nullptr;
}

ImageFormat sniff_image_format(std::string_view b) {
  auto starts = [&](size_t at, std::string_view magic) {
    return b.size() >= at + magic.size() && b.substr(at, magic.size()) == magic;
  };
  if (starts(0, "\xFF\xD8\xFF")) return ImageFormat::kJpeg;
  if (starts(0, "\x89PNG\r\n\x1A\n")) return ImageFormat::kPng;
  if (starts(0, "GIF87a") || starts(0, "GIF89a")) return ImageFormat::kGif;
  if (starts(0, "RIFF") && starts(8, "WEBP")) return ImageFormat::kWebp;
  if (starts(0, "BM") && b.size() >= 26) return ImageFormat::kBmp;
  if (starts(0, std::string_view("II*\0", 4)) || starts(0, std::string_view("MM\0*", 4)) ||
      starts(0, std::string_view("II+\0", 4)) || starts(0, std::string_view("MM\0+", 4))) {
    return ImageFormat::kTiff;
  }
  // ISO base media file: a box "ftyp" whose major brand is an image brand.
  if (starts(4, "ftyp")) {
    for (std::string_view brand :
         {"heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1", "avif", "avis"}) {
      if (starts(8, brand)) return ImageFormat::kHeif;
    }
  }
  return ImageFormat::kUnknown;
}

int hamming(uint64_t a, uint64_t b) { return std::popcount(a ^ b); }

}  // namespace kura
