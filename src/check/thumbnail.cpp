// make_thumbnail (image_facts.hpp): libvips' thumbnail, in the image module.
#include <glib.h>

#include <cctype>
#include <memory>
#include <vips/vips8>

#include "check/vips_util.hpp"
#include "kura/error.hpp"
#include "kura/image_facts.hpp"

namespace kura {

using vips::VError;
using vips::VImage;

namespace {

using media::BlobUnref;
using media::first_line;

// Colour spaces a browser shows as they are; the others (CMYK, 16-bit) are
// converted, as a viewer would.
VImage displayable(VImage image) {
  const VipsInterpretation in = image.interpretation();
  VipsInterpretation want = in;
  if (in == VIPS_INTERPRETATION_GREY16) want = VIPS_INTERPRETATION_B_W;
  else if (in != VIPS_INTERPRETATION_sRGB && in != VIPS_INTERPRETATION_B_W) want = VIPS_INTERPRETATION_sRGB;
  if (want != in && vips_colourspace_issupported(image.get_image())) image = image.colourspace(want);
  if (image.format() != VIPS_FORMAT_UCHAR) image = image.cast(VIPS_FORMAT_UCHAR);
  return image;
}

}  // namespace

Thumbnail make_thumbnail(std::string_view bytes, int max_side, uint64_t max_pixels) {
  if (max_side < 1 || max_side > 4096)
    fail(ErrorCode::kInvalidInput, "thumbnail size " + std::to_string(max_side) + " is outside 1..4096");
  init_image_library();
  Thumbnail out;
  if (const char* refusal = refuse_before_decoding(bytes)) {
    out.error = refusal;
    return out;
  }
  try {
    // The header alone first: a decompression bomb is refused before decoding.
    VImage header = VImage::new_from_buffer(bytes.data(), bytes.size(), "",
                                            VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL));
    const uint64_t pixels = uint64_t(header.width()) * uint64_t(vips_image_get_page_height(header.get_image()));
    if (pixels > max_pixels) {
      out.error = "image has " + std::to_string(pixels) + " pixels, over the limit of " + std::to_string(max_pixels);
      return out;
    }
    std::unique_ptr<VipsBlob, BlobUnref> blob(vips_blob_new(nullptr, bytes.data(), bytes.size()));
    VImage thumb = VImage::thumbnail_buffer(blob.get(), max_side,
                                            VImage::option()->set("height", max_side)->set("size", VIPS_SIZE_DOWN));
    thumb = displayable(thumb);
    const bool alpha = thumb.has_alpha();
    void* buf = nullptr;
    size_t size = 0;
    if (alpha) thumb.write_to_buffer(".png", &buf, &size, VImage::option()->set("compression", 6));
    else thumb.write_to_buffer(".jpg", &buf, &size, VImage::option()->set("Q", 82)->set("strip", true));
    std::unique_ptr<void, decltype(&g_free)> owned(buf, g_free);
    out.bytes.assign(static_cast<const char*>(buf), size);
    out.mime = alpha ? "image/png" : "image/jpeg";
    out.width = thumb.width();
    out.height = thumb.height();
  } catch (const VError& e) {
    out = Thumbnail{};
    // libvips' error buffer is the process's; it is not cleared here, since
    // an inspection on another thread may be reading its own message.
    out.error = first_line(e.what());
  }
  return out;
}

}  // namespace kura
