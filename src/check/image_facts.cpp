#include "kura/image_facts.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cctype>
#include <cmath>
#include <memory>
#include <mutex>
#include <numbers>
#include <optional>
#include <shared_mutex>
#include <tuple>
#include <vips/vips8>

#include "check/faces.hpp"
#include "kura/error.hpp"

namespace kura {

using vips::VError;
using vips::VImage;
using vips::VOption;
using vips::VSource;

namespace {

std::atomic<uint64_t> g_headers_read{0};
std::atomic<uint64_t> g_images_decoded{0};
std::atomic<uint64_t> g_faces_run{0};

// libvips keeps one error buffer for the whole process. An inspection that
// fails is therefore run again alone (exclusive lock, buffer cleared first),
// so its message is its own and the same for the same bytes whatever else
// runs; successful inspections share the lock and never wait for each other.
std::shared_mutex g_vips_errors;

// The frames that must all decode: animations are loaded whole (n=-1), so
// "height" below is the height of every frame stacked. TIFF and HEIF pages
// may differ in size, so only their first (primary) image is read.
const char* load_options(ImageFormat format) {
  if (format == ImageFormat::kGif || format == ImageFormat::kWebp) {
    return "[n=-1,access=sequential,fail_on=error]";
  }
  return "[access=sequential,fail_on=error]";
}

// "VipsJpeg: Premature end of input file\n..." -> "Premature end of input file".
std::string clean_message(std::string_view text) {
  size_t end = text.find('\n');
  std::string_view line = text.substr(0, end);
  if (size_t colon = line.find(": "); colon != std::string_view::npos &&
                                      line.substr(0, colon).find(' ') == std::string_view::npos) {
    line.remove_prefix(colon + 2);
  }
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
    line.remove_suffix(1);
  }
  return line.empty() ? std::string("libvips reported an error without a message")
                      : std::string(line);
}

// The loader's type name "VipsForeignLoadPpmSource" -> its nickname
// "ppmload_source" -> "ppm".
std::string loader_format(const char* loader) {
  const char* nick = vips_nickname_find(g_type_from_name(loader));
  std::string_view name = nick ? nick : "other";
  return std::string(name.substr(0, name.find("load")));
}

int header_int(const VImage& image, const char* name, int fallback) {
  if (image.get_typeof(name) == 0) return fallback;
  return image.get_int(name);
}

// One 8-bit grey band: B_W conversion where libvips knows the colour space
// (else the first band), alpha flattened onto white, 16 bits scaled down,
// anything else (float TIFF) stretched to 0..255.
VImage to_grey8(VImage image) {
  if (vips_colourspace_issupported(image.get_image())) {
    image = image.colourspace(VIPS_INTERPRETATION_B_W);
  }
  if (image.has_alpha()) {
    image = image.flatten(VImage::option()->set("background", std::vector<double>{255.0}));
  }
  image = image.extract_band(0);
  if (image.format() == VIPS_FORMAT_USHORT) {
    image = image / 257.0;
  } else if (image.format() != VIPS_FORMAT_UCHAR) {
    const double low = image.min(), high = image.max();
    image = (image - low) * (255.0 / std::max(high - low, 1e-9));
  }
  return image.cast(VIPS_FORMAT_UCHAR);
}

std::vector<uint8_t> pixels(const VImage& image) {
  size_t size = 0;
  std::unique_ptr<void, decltype(&g_free)> data(image.write_to_memory(&size), g_free);
  const auto* bytes = static_cast<const uint8_t*>(data.get());
  return {bytes, bytes + size};
}

uint64_t dct_hash(const std::vector<uint8_t>& grey) {
  constexpr int kN = 32, kK = 8;
  // cosines[k][n] = cos(pi * (2n + 1) * k / 2N), frequencies 1..8 only.
  static const auto cosines = [] {
    std::array<std::array<double, kN>, kK> c{};
    for (int k = 0; k < kK; ++k)
      for (int n = 0; n < kN; ++n)
        c[k][n] = std::cos(std::numbers::pi * (2 * n + 1) * (k + 1) / (2 * kN));
    return c;
  }();
  std::array<std::array<double, kK>, kN> rows{};  // DCT along x of each row
  for (int y = 0; y < kN; ++y)
    for (int k = 0; k < kK; ++k) {
      double sum = 0;
      for (int x = 0; x < kN; ++x) sum += grey[y * kN + x] * cosines[k][x];
      rows[y][k] = sum;
    }
  std::array<double, kK * kK> coefficients{};
  for (int j = 0; j < kK; ++j)
    for (int k = 0; k < kK; ++k) {
      double sum = 0;
      for (int y = 0; y < kN; ++y) sum += cosines[j][y] * rows[y][k];
      coefficients[j * kK + k] = sum;
    }
  std::array<double, kK* kK> sorted = coefficients;
  std::nth_element(sorted.begin(), sorted.begin() + 31, sorted.end());
  double low = sorted[31];
  double high = *std::min_element(sorted.begin() + 32, sorted.end());
  double median = (low + high) / 2;
  uint64_t hash = 0;
  for (int i = 0; i < kK * kK; ++i) {
    if (coefficients[i] > median) hash |= uint64_t{1} << i;
  }
  return hash;
}

// A fresh read of the caller's bytes (no copy); every load needs its own.
VSource source(std::string_view bytes) {
  return VSource::new_from_memory(bytes.data(), bytes.size());
}

// `thumb`: the image shrunk to 32x32 (vips thumbnail: lanczos3, upright).
uint64_t perceptual_hash(const VImage& thumb) {
  std::vector<uint8_t> grey = pixels(to_grey8(thumb));
  if (grey.size() != 32 * 32) throw VError("perceptual hash: thumbnail is not 32x32");
  return dct_hash(grey);
}

VOption* thumb_32x32() { return VImage::option()->set("height", 32)->set("size", VIPS_SIZE_FORCE); }

// A JPEG loaded at 1/shrink (libjpeg's DCT scaling), sequentially.
VImage load_jpeg(std::string_view bytes, int shrink, const char* more = "") {
  const std::string options = "[access=sequential,shrink=" + std::to_string(shrink) + more + "]";
  return VImage::new_from_source(source(bytes), options.c_str());
}

// The decode of a JPEG for its hash, shrunk on load but leaving at least 64
// pixels each way for thumbnail's lanczos3 to reduce to 32. It is also the
// check that the whole file decodes: libjpeg entropy-decodes every block of
// every scan whatever the scale (only the inverse DCT is smaller), so a
// truncated or corrupt stream fails here as it does at full size, in about a
// third of the time for a 1 MP photo (3 ms against 8 ms here).
VImage decode_jpeg_small(std::string_view bytes, const ImageFacts& facts) {
  int shrink = 1;
  while (shrink < 8 && std::min(facts.width, facts.height) / (shrink * 2) >= 64) shrink *= 2;
  return load_jpeg(bytes, shrink, ",fail_on=error").copy_memory();  // every row
}

// How the detector's input is made: `scale` detector pixels per stored pixel,
// so that a min_face_px face becomes kDetectorMinFacePx, and the JPEG
// shrink-on-load factor that gets closest from above. Not vips thumbnail: it
// decodes at twice the size it needs and reduces with lanczos3 for quality
// (29 ms for 1 MP -> 0.25 MP here, against 7 ms this way); HOG needs no better.
struct FacePlan {
  double scale = 1;
  int shrink = 1;
};

FacePlan plan_faces(const ImageOptions& options, const ImageFacts& facts) {
  FacePlan plan;
  const double pixels = double(facts.width) * facts.height;
  plan.scale = std::min(double(check::kDetectorMinFacePx) / options.min_face_px,
                        std::sqrt(check::kDetectorMaxPixels / pixels));
  while (facts.format == ImageFormat::kJpeg && plan.shrink < 8 &&
         plan.scale * plan.shrink * 2 <= 1.0) {
    plan.shrink *= 2;
  }
  return plan;
}

// `grey` is the stored image (1/shrink size): resized to the plan's scale,
// then turned upright by its EXIF orientation.
VImage detector_input(VImage grey, const FacePlan& plan) {
  // At least one pixel each way, however small the image.
  const double residual =
      std::max({plan.scale * plan.shrink, 1.0 / grey.width(), 1.0 / grey.height()});
  if (std::abs(residual - 1) > 1e-3) {
    grey = grey.resize(residual, VImage::option()->set("kernel", VIPS_KERNEL_LINEAR));
  }
  // Turning needs random access; the grey image is small, so hold it in memory.
  return grey.copy_memory().autorot();
}

// Runs the detector on `input` (see detector_input) and maps its boxes back
// to the image as displayed.
void scan_faces(const VImage& input, ImageFacts& facts) {
  const bool turned = facts.exif_orientation >= 5;  // 5..8 swap width and height
  const double width = turned ? facts.height : facts.width;
  const double height = turned ? facts.width : facts.height;
  std::vector<uint8_t> grey = pixels(input);
  const int w = input.width(), h = input.height();
  if (grey.size() != size_t(w) * h) throw VError("face scan: unexpected input size");

  g_faces_run.fetch_add(1, std::memory_order_relaxed);
  facts.face_boxes.clear();
  const double sx = width / w, sy = height / h;
  for (const auto& box : check::find_faces(grey.data(), w, h)) {
    int x0 = std::clamp(static_cast<int>(std::lround(box[0] * sx)), 0, int(width));
    int y0 = std::clamp(static_cast<int>(std::lround(box[1] * sy)), 0, int(height));
    int x1 = std::clamp(static_cast<int>(std::lround((box[0] + box[2]) * sx)), 0, int(width));
    int y1 = std::clamp(static_cast<int>(std::lround((box[1] + box[3]) * sy)), 0, int(height));
    if (x1 > x0 && y1 > y0) facts.face_boxes.push_back({x0, y0, x1 - x0, y1 - y0});
  }
  facts.faces = static_cast<int>(facts.face_boxes.size());
  facts.face_scan_min_px =
      static_cast<int>(std::ceil(check::kDetectorMinFacePx / std::min(w / width, h / height)));
}

enum class Count { kYes, kNo };

// Everything after the format sniff. Throws VError on any libvips failure;
// `facts` then holds what was learnt before it.
void measure(std::string_view bytes, const ImageOptions& options, Count count, ImageFacts& facts) {
  VSource sniffer = source(bytes);
  const char* loader = vips_foreign_find_load_source(sniffer.get_source());
  if (!loader) {
    facts.decode_error = facts.format == ImageFormat::kUnknown
                             ? "not an image: no known format signature"
                             : "no trusted decoder for " + facts.format_name + " in this build";
    return;
  }
  if (facts.format == ImageFormat::kUnknown) {
    facts.format = ImageFormat::kOther;
    facts.format_name = loader_format(loader);
  }

  if (count == Count::kYes) g_headers_read.fetch_add(1, std::memory_order_relaxed);
  VImage image = VImage::new_from_source(source(bytes), load_options(facts.format));
  facts.pages = std::max(1, header_int(image, "n-pages", 1));
  facts.width = image.width();
  facts.height = vips_image_get_page_height(image.get_image());
  facts.bands = image.bands();
  facts.interpretation = vips_enum_nick(VIPS_TYPE_INTERPRETATION, image.interpretation());
  facts.bits_per_sample = static_cast<int>(8 * vips_format_sizeof(image.format()));
  facts.has_alpha = image.has_alpha();
  facts.palette = facts.format == ImageFormat::kGif || image.get_typeof("palette-bit-depth") != 0;
  int orientation = header_int(image, "orientation", 1);
  facts.exif_orientation = orientation >= 1 && orientation <= 8 ? orientation : 1;

  const uint64_t total = uint64_t(image.width()) * uint64_t(image.height());
  if (total > options.max_pixels) {
    facts.too_many_pixels = true;
    facts.decode_error = "image has " + std::to_string(total) + " pixels, over the limit of " +
                         std::to_string(options.max_pixels) + "; not decoded";
    return;
  }

  if (count == Count::kYes) g_images_decoded.fetch_add(1, std::memory_order_relaxed);
  const FacePlan plan = options.detect_faces ? plan_faces(options, facts) : FacePlan{};
  const bool jpeg = facts.format == ImageFormat::kJpeg;
  std::optional<VImage> grey;  // the stored image for the detector, 1/plan.shrink size
  if (jpeg) {
    facts.phash =
        perceptual_hash(decode_jpeg_small(bytes, facts).thumbnail_image(32, thumb_32x32()));
  } else if (options.detect_faces && image.height() == facts.height &&
             total <= check::kDetectorMaxPixels) {
    // The detector wants the stored size anyway (no shrink-on-load outside
    // JPEG; one frame): keep a grey copy of the full decode.
    grey = to_grey8(image).copy_memory();  // pulls every pixel through the decoder
  } else {
    std::ignore = image.avg();  // the same, keeping nothing
  }
  facts.decodes = true;
  if (!jpeg)
    facts.phash = perceptual_hash(VImage::thumbnail_source(source(bytes), 32, thumb_32x32()));

  if (options.detect_faces) {
    if (!grey) {
      grey = to_grey8(jpeg ? load_jpeg(bytes, plan.shrink)
                           : VImage::new_from_source(source(bytes), "[access=sequential]"));
    }
    scan_faces(detector_input(*grey, plan), facts);
  }
}

ImageFacts sniffed(std::string_view bytes) {
  ImageFacts facts;
  facts.format = sniff_image_format(bytes);
  facts.format_name = image_format_name(facts.format);
  return facts;
}

void silence(const char*, GLogLevelFlags, const char*, void*) {}

}  // namespace

ImageFacts inspect_image(std::string_view bytes, const ImageOptions& options) {
  if (options.min_face_px < 1) fail(ErrorCode::kInvalidInput, "min_face_px must be at least 1");
  init_image_library();
  ImageFacts facts = sniffed(bytes);
  if (bytes.empty()) {
    facts.decode_error = "empty file";
    return facts;
  }
  {
    std::shared_lock<std::shared_mutex> shared(g_vips_errors);
    try {
      measure(bytes, options, Count::kYes, facts);
      return facts;
    } catch (const VError&) {
      // fall through: run again alone for a message of our own
    }
  }
  std::unique_lock<std::shared_mutex> alone(g_vips_errors);
  vips_error_clear();
  facts = sniffed(bytes);
  try {
    measure(bytes, options, Count::kNo, facts);
  } catch (const VError& e) {
    facts.decodes = false;
    facts.phash = 0;
    facts.faces = -1;
    facts.face_boxes.clear();
    facts.face_scan_min_px = 0;
    facts.decode_error = clean_message(e.what());
  }
  vips_error_clear();
  return facts;
}

void init_image_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (VIPS_INIT("kura") != 0) {
      std::string message = clean_message(vips_error_buffer());
      vips_error_clear();
      fail(ErrorCode::kIo, "cannot start libvips: " + message);
    }
    vips_cache_set_max(0);
    vips_concurrency_set(1);
    vips_block_untrusted_set(TRUE);
    g_log_set_handler("VIPS",
                      static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE),
                      silence, nullptr);
  });
}

ImageCounters image_counters() {
  return {g_headers_read.load(std::memory_order_relaxed),
          g_images_decoded.load(std::memory_order_relaxed),
          g_faces_run.load(std::memory_order_relaxed)};
}

}  // namespace kura
