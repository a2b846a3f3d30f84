#include "kura/image_facts.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <numbers>
#include <optional>
#include <shared_mutex>
#include <vips/vips8>

#include "check/faces.hpp"
#include "check/likeness.hpp"
#include "check/pixels.hpp"
#include "kura/error.hpp"

namespace kura {

using vips::VError;
using vips::VImage;
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

// Every pixel of `image`, computed in the calling thread: one region the
// size of the image, prepared once. write_to_memory() instead runs libvips'
// thread pool, a worker thread fed strip by strip through semaphores, whose
// hand-offs and wake-ups cost more than converting a photo's pixels. Only
// for images up to kWholeRegionBytes decoded: the region holds every pixel,
// and so may each operation's region before it (libvips zeroes each).
class WholeRegion {
 public:
  explicit WholeRegion(const VImage& image) : region_(vips_region_new(image.get_image())) {
    if (!region_) throw VError();
    VipsRect all{0, 0, image.width(), image.height()};
    if (vips_region_prepare(region_, &all) != 0) {
      g_object_unref(region_);
      throw VError();
    }
  }
  ~WholeRegion() { g_object_unref(region_); }
  WholeRegion(const WholeRegion&) = delete;
  WholeRegion& operator=(const WholeRegion&) = delete;

  const uint8_t* row(int y) const {
    return reinterpret_cast<const uint8_t*>(VIPS_REGION_ADDR(region_, 0, y));
  }

 private:
  VipsRegion* region_;
};

constexpr uint64_t kWholeRegionBytes = uint64_t{16} << 20;  // a 5.5 MP RGB photo

// An 8-bit grey image, rows packed.
struct Grey {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;
};

// One row of 8-bit pixels of `Bands` bands to grey: luma 0.299 R + 0.587 G +
// 0.114 B (in 8.8 fixed point) for 3 and 4 bands, alpha (the last band of 2
// and 4) flattened onto white. A template so that each case is a loop the
// compiler can vectorize.
template <int Bands>
void grey_row(const uint8_t* in, uint8_t* out, int width) {
  for (int x = 0; x < width; ++x, in += Bands) {
    unsigned v = Bands >= 3 ? (77u * in[0] + 150u * in[1] + 29u * in[2] + 128u) >> 8 : in[0];
    if constexpr (Bands == 2 || Bands == 4) {
      const unsigned a = in[Bands - 1];
      v = (v * a + 255u * (255u - a) + 127u) / 255u;
    }
    out[x] = static_cast<uint8_t>(v);
  }
}

// `image` in one 8-bit grey band, every pixel pulled through its decoder
// (this is the full decode that catches truncation). The usual case, 8-bit
// sRGB or B_W with or without alpha and up to 64 MB decoded, is converted
// here (grey_row): decoded in this thread into one region up to
// kWholeRegionBytes, through write_to_memory above that. Anything else
// (CMYK, 16-bit, float, Lab, ..., or a larger image) goes through to_grey8,
// which libvips runs strip by strip without holding the colour pixels.
Grey grey_of(const VImage& image) {
  const VipsInterpretation kind = image.interpretation();
  const int bands = image.bands();
  const bool plain = image.format() == VIPS_FORMAT_UCHAR && bands <= 4 &&
                     uint64_t(image.width()) * image.height() * bands <= (uint64_t{64} << 20) &&
                     (((kind == VIPS_INTERPRETATION_sRGB || kind == VIPS_INTERPRETATION_RGB) &&
                       bands >= 3) ||
                      (kind == VIPS_INTERPRETATION_B_W && bands <= 2));
  Grey grey{image.width(), image.height(), {}};
  if (!plain) {
    grey.pixels = pixels(to_grey8(image));
  } else {
    const uint64_t bytes = uint64_t(grey.width) * grey.height * bands;
    std::optional<WholeRegion> decoded;
    std::vector<uint8_t> raw;
    if (bytes <= kWholeRegionBytes) {
      decoded.emplace(image);
    } else {
      raw = pixels(image);
      if (raw.size() != bytes) throw VError("grey: unexpected decoded size");
    }
    grey.pixels.resize(size_t(grey.width) * grey.height);
    for (int y = 0; y < grey.height; ++y) {
      uint8_t* out = grey.pixels.data() + size_t(y) * grey.width;
      const uint8_t* in = decoded ? decoded->row(y) : raw.data() + size_t(y) * grey.width * bands;
      switch (bands) {
        case 1: std::memcpy(out, in, grey.width); break;
        case 2: grey_row<2>(in, out, grey.width); break;
        case 3: grey_row<3>(in, out, grey.width); break;
        default: grey_row<4>(in, out, grey.width); break;
      }
    }
  }
  if (grey.pixels.size() != size_t(grey.width) * grey.height) {
    throw VError("grey: unexpected decoded size");
  }
  return grey;
}

// Box-filter weights from n samples to 32: output cell i averages the
// input over [i n / 32, (i + 1) n / 32), pixels counted by the fraction
// that falls inside. Symmetric, so a mirrored input gives a mirrored output.
struct Tap {
  int cell, at;
  float weight;
};
std::vector<Tap> box_taps(int n) {
  constexpr int kN = 32;
  std::vector<Tap> taps;
  const double step = double(n) / kN;
  for (int i = 0; i < kN; ++i) {
    const double start = i * step, end = (i + 1) * step;
    for (int x = int(std::floor(start)); x < end && x < n; ++x) {
      const double overlap = std::min(end, x + 1.0) - std::max(start, double(x));
      if (overlap > 0) taps.push_back({i, x, float(overlap / step)});
    }
  }
  return taps;
}

// The hash input: the first `height` rows of `grey` (one frame) averaged
// down (or sampled up) to 32x32, aspect ratio ignored, then turned as EXIF
// `orientation` says so that the hash is of the image as displayed. Rows are
// reduced to 32 first (whole rows at a time, which vectorizes), then across.
std::vector<uint8_t> grid_32x32(const Grey& grey, int height, int orientation) {
  constexpr int kN = 32;
  const int w = grey.width, h = height;
  const std::vector<Tap> across = box_taps(w), down = box_taps(h);
  std::vector<float> strips(size_t(kN) * w);  // 32 rows, each a weighted sum of input rows
  for (const Tap& t : down) {
    const uint8_t* __restrict in = grey.pixels.data() + size_t(t.at) * w;
    float* __restrict out = strips.data() + size_t(t.cell) * w;
    const float weight = t.weight;
    for (int x = 0; x < w; ++x) out[x] += weight * in[x];
  }
  std::array<float, kN * kN> cells{};
  for (int y = 0; y < kN; ++y) {
    const float* in = strips.data() + size_t(y) * w;
    for (const Tap& t : across) cells[y * kN + t.cell] += t.weight * in[t.at];
  }
  std::array<uint8_t, kN * kN> stored{};
  for (int i = 0; i < kN * kN; ++i) stored[i] = uint8_t(std::clamp(std::lround(cells[i]), 0L, 255L));
  std::vector<uint8_t> shown(kN * kN);
  constexpr int m = kN - 1;
  for (int y = 0; y < kN; ++y)
    for (int x = 0; x < kN; ++x) {
      int sx = x, sy = y;  // the stored pixel shown at (x, y)
      switch (orientation) {
        case 2: sx = m - x; break;
        case 3: sx = m - x; sy = m - y; break;
        case 4: sy = m - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = m - x; break;
        case 7: sx = m - y; sy = m - x; break;
        case 8: sx = m - y; sy = x; break;
        default: break;
      }
      shown[y * kN + x] = stored[sy * kN + sx];
    }
  return shown;
}

// A fresh read of the caller's bytes (no copy); every load needs its own.
VSource source(std::string_view bytes) {
  return VSource::new_from_memory(bytes.data(), bytes.size());
}

// The stored width and height of a JPEG from its frame header (SOFn), read
// without libvips; nullopt when the markers before it do not parse (the
// caller then takes libvips' slower path, which reports the damage).
std::optional<std::pair<int, int>> jpeg_size(std::string_view b) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(b[i]); };
  size_t i = 2;  // after SOI
  while (i + 4 <= b.size()) {
    if (byte(i) != 0xFF) return std::nullopt;
    const uint8_t marker = byte(i + 1);
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // TEM, RSTn, SOI: no length
      i += 2;
      continue;
    }
    if (marker == 0xD9 || marker == 0xDA) return std::nullopt;  // EOI or SOS before a frame
    const size_t length = (size_t(byte(i + 2)) << 8) | byte(i + 3);
    if (length < 2) return std::nullopt;
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
                     marker != 0xCC;
    if (sof) {
      if (length < 8 || i + 9 > b.size()) return std::nullopt;
      const int height = (int(byte(i + 5)) << 8) | byte(i + 6);
      const int width = (int(byte(i + 7)) << 8) | byte(i + 8);
      if (width == 0 || height == 0) return std::nullopt;
      return std::make_pair(width, height);
    }
    i += 2 + length;
  }
  return std::nullopt;
}

// How the detector's input is made: `scale` detector pixels per stored pixel,
// so that a min_face_px face becomes kDetectorMinFacePx (but no more than
// kDetectorMaxPixels in all), and the JPEG shrink-on-load factor that gets
// closest from above.
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

// The JPEG shrink-on-load factor for the hash: the largest that leaves at
// least 32 pixels each way.
int hash_shrink(const ImageFacts& facts) {
  int shrink = 1;
  while (shrink < 8 && std::min(facts.width, facts.height) / (shrink * 2) >= 32) shrink *= 2;
  return shrink;
}

// `grey` (one frame of the stored image) turned upright by its EXIF
// orientation: the detector's input before its resize (which find_faces does).
Grey upright(Grey grey, int orientation) {
  if (orientation == 1) return grey;
  VImage image = VImage::new_from_memory(grey.pixels.data(), grey.pixels.size(), grey.width,
                                         grey.height, 1, VIPS_FORMAT_UCHAR);
  image.set("orientation", orientation);
  image = image.autorot();
  Grey turned{image.width(), image.height(), pixels(image)};
  if (turned.pixels.size() != size_t(turned.width) * turned.height) {
    throw VError("face scan: unexpected rotated size");
  }
  return turned;
}

// Runs the detector on `grey` (the image decoded at 1/`shrink` and turned
// upright) resized to the plan's scale, and maps its boxes back to the image
// as displayed.
void scan_faces(const Grey& grey, int shrink, const FacePlan& plan, ImageFacts& facts) {
  const bool turned = facts.exif_orientation >= 5;  // 5..8 swap width and height
  const double width = turned ? facts.height : facts.width;
  const double height = turned ? facts.width : facts.height;
  const double residual = plan.scale * shrink;
  const bool same = std::abs(residual - 1) <= 1e-3;
  // At least one pixel each way, however small the image.
  const int w = same ? grey.width : std::max(1, int(std::lround(grey.width * residual)));
  const int h = same ? grey.height : std::max(1, int(std::lround(grey.height * residual)));

  g_faces_run.fetch_add(1, std::memory_order_relaxed);
  facts.face_boxes.clear();
  const double sx = width / w, sy = height / h;
  for (const auto& box : check::find_faces(grey.pixels.data(), grey.width, grey.height, w, h)) {
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

// The header fields every loader gives.
void read_header(const VImage& image, ImageFacts& facts) {
  facts.pages = std::max(1, header_int(image, "n-pages", 1));
  facts.bands = image.bands();
  facts.interpretation = vips_enum_nick(VIPS_TYPE_INTERPRETATION, image.interpretation());
  facts.bits_per_sample = static_cast<int>(8 * vips_format_sizeof(image.format()));
  facts.has_alpha = image.has_alpha();
  facts.palette = facts.format == ImageFormat::kGif || image.get_typeof("palette-bit-depth") != 0;
  int orientation = header_int(image, "orientation", 1);
  facts.exif_orientation = orientation >= 1 && orientation <= 8 ? orientation : 1;
}

// After the full decode into `grey` (at 1/`shrink` of the stored size;
// `frame_height` rows of it are the first frame): hash and faces.
void finish(Grey grey, int frame_height, int shrink, const ImageOptions& options,
            ImageFacts& facts) {
  facts.decodes = true;
  facts.grid = grid_32x32(grey, frame_height, facts.exif_orientation);
  facts.phash = check::grid_hash(std::string_view(reinterpret_cast<const char*>(facts.grid.data()), facts.grid.size()));
  if (!options.detect_faces) return;
  if (frame_height != grey.height) {  // an animation: the first frame only
    grey.height = frame_height;
    grey.pixels.resize(size_t(grey.width) * frame_height);
  }
  scan_faces(upright(std::move(grey), facts.exif_orientation), shrink, plan_faces(options, facts),
             facts);
}

enum class Count { kYes, kNo };

// The common case, a JPEG, with one libvips operation: the size from the
// frame header (so the pixel limit is applied before libvips sees the file),
// then one load, shrunk on load to what the hash and the face scan need,
// that reads the rest of the header and decodes every block (fail_on=error).
// Returns false, having changed nothing, when the frame header does not
// parse or the image is over the pixel limit: measure() then does it the
// general way (which reports the damage, or the pixel count, and all the
// header fields without decoding).
bool measure_jpeg(std::string_view bytes, const ImageOptions& options, Count count,
                  ImageFacts& facts) {
  const auto size = jpeg_size(bytes);
  if (!size || uint64_t(size->first) * uint64_t(size->second) > options.max_pixels) return false;
  ImageFacts found = facts;
  found.width = size->first;
  found.height = size->second;
  int shrink = hash_shrink(found);
  if (options.detect_faces) shrink = std::min(shrink, plan_faces(options, found).shrink);
  if (count == Count::kYes) {
    g_headers_read.fetch_add(1, std::memory_order_relaxed);
    g_images_decoded.fetch_add(1, std::memory_order_relaxed);
  }
  VImage image = VImage::jpegload_source(source(bytes), VImage::option()
                                                            ->set("shrink", shrink)
                                                            ->set("fail_on", VIPS_FAIL_ON_ERROR)
                                                            ->set("access", VIPS_ACCESS_SEQUENTIAL));
  // libvips rounds the shrunk size down (libjpeg itself rounds up).
  auto fits = [&](int shrunk, int full) {
    return shrunk == std::max(1, full / shrink) || shrunk == (full + shrink - 1) / shrink;
  };
  if (!fits(image.width(), found.width) || !fits(image.height(), found.height)) {
    throw VError("JPEG frame header disagrees with the decoder about the image size");
  }
  read_header(image, found);
  facts = std::move(found);  // the header is known, whether or not the pixels decode
  Grey grey = grey_of(image);
  const int rows = grey.height;
  finish(std::move(grey), rows, shrink, options, facts);
  return true;
}

// Everything after the format sniff. Throws VError on any libvips failure;
// `facts` then holds what was learnt before it.
void measure(std::string_view bytes, const ImageOptions& options, Count count, ImageFacts& facts) {
  if (facts.format == ImageFormat::kJpeg && measure_jpeg(bytes, options, count, facts)) return;

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
  facts.width = image.width();
  facts.height = vips_image_get_page_height(image.get_image());
  read_header(image, facts);

  const uint64_t total = uint64_t(image.width()) * uint64_t(image.height());
  if (total > options.max_pixels) {
    facts.too_many_pixels = true;
    facts.decode_error = "image has " + std::to_string(total) + " pixels, over the limit of " +
                         std::to_string(options.max_pixels) + "; not decoded";
    return;
  }

  if (count == Count::kYes) g_images_decoded.fetch_add(1, std::memory_order_relaxed);
  // Every frame (all of an animation's, stacked) in grey: the full decode.
  finish(grey_of(image), facts.height, 1, options, facts);
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
    facts.grid.clear();
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
  ImageCounters c{g_headers_read.load(std::memory_order_relaxed),
                  g_images_decoded.load(std::memory_order_relaxed),
                  g_faces_run.load(std::memory_order_relaxed)};
  media::add_pixel_counters(&c);
  return c;
}

}  // namespace kura
