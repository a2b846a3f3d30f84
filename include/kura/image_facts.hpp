// Image facts: what the check layer needs to know about one image's bytes,
// measured once and cached by (object id, kImageFactsVersion, options).
//
// inspect_image() reads the header (format, size, colour mode, orientation),
// refuses decompression bombs before any pixel is decoded, decodes the whole
// image to its last byte so truncated and corrupt files are caught, computes a
// perceptual hash for near-duplicate search and, when asked, counts frontal
// faces. It never judges: turning facts into findings ("CMYK is not accepted",
// "image contains a face") is the check layer's job.
//
//   kura::init_image_library();                 // once, before any thread uses it
//   ImageOptions options;
//   options.detect_faces = true;
//   ImageFacts facts = kura::inspect_image(bytes, options);
//   if (!facts.decodes) report(facts.decode_error);
//
// All image work goes through libvips (trusted loaders only: see
// init_image_library) and face detection through dlib's HOG frontal face
// detector; neither library's types appear here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kura {

// Bumped whenever inspect_image() can give different facts for the same bytes
// and options (a new field, another hash, another detector setting). Part of
// the check-result cache key, so a bump re-inspects every image once.
inline constexpr int kImageFactsVersion = 5;

// The container format, sniffed from the first bytes (magic numbers), never
// from a file name. kOther: libvips' trusted loaders read it but it is none of
// the named kinds (e.g. PPM); kUnknown: no trusted loader recognises it (text,
// an empty buffer, a format whose only loader is an untrusted one).
enum class ImageFormat { kJpeg, kPng, kWebp, kGif, kBmp, kTiff, kHeif, kOther, kUnknown };

// "jpeg", "png", "webp", "gif", "bmp", "tiff", "heif", "other", "unknown".
std::string_view image_format_name(ImageFormat format);

// The format from magic bytes alone: cheap, decodes nothing, never fails.
// Returns one of the named kinds or kUnknown, never kOther: inspect_image()
// turns kUnknown into kOther when a trusted libvips loader accepts the bytes.
ImageFormat sniff_image_format(std::string_view bytes);
// Why `bytes` cannot be an image before any decoder runs ("empty file", or
// "not an image: no known format signature"), or nullptr: the first refusal
// the thumbnail and the training decoder give alike.
const char* refuse_before_decoding(std::string_view bytes);

struct ImageFacts {
  ImageFormat format = ImageFormat::kUnknown;
  std::string format_name = "unknown";  // image_format_name(format), or the loader's
                                        // name for kOther ("ppm", "jp2k", ...)

  // From the header, as stored (not rotated by EXIF orientation). For an
  // animation, the size of one frame. All 0 when the header cannot be read.
  int width = 0, height = 0, bands = 0;
  int pages = 1;               // frames of a GIF / WebP / TIFF / HEIF; 1 otherwise
  std::string interpretation;  // libvips' name: "srgb", "b-w", "cmyk", "rgb16",
                               // "grey16", "multiband", ...; empty when no header
  int bits_per_sample = 8;     // of the decoded samples: 8, 16 (or 32 for float TIFF)
  bool has_alpha = false;
  bool palette = false;      // an indexed-colour PNG, or any GIF
  int exif_orientation = 1;  // EXIF Orientation 1..8; 1 when absent or invalid

  // True only when the whole image decoded without a libvips error (loaders
  // run with fail_on=error, so truncation counts). Every frame of an animated
  // GIF or WebP is decoded; of a TIFF or HEIF only the first (primary) image,
  // since their pages may differ in size. A JPEG is decoded at up to 1/8
  // scale (libjpeg's DCT scaling), which still entropy-decodes every block of
  // every scan: a truncated or corrupt stream fails as it would at full size
  // (measured: even a file missing only its last 40 bytes fails). When false,
  // decode_error holds the decoder's first message, one line, deterministic
  // for the same bytes (e.g. "Premature end of input file").
  bool decodes = false;
  std::string decode_error;

  // The pixels to decode (width * height, times pages for an animated GIF or
  // WebP, whose frames are all decoded) exceeded ImageOptions::max_pixels: the header was
  // read but no pixel was decoded (decompression bomb). decodes is false,
  // decode_error says so, phash is 0 and faces is -1.
  bool too_many_pixels = false;

  // 64-bit DCT perceptual hash of the image as displayed (EXIF orientation
  // applied), 0 when it did not decode. Compare two with hamming(): a
  // re-encoded or resized copy is typically within 8 bits, unrelated images
  // typically more than 20 apart. Algorithm: the decoded image (a JPEG
  // shrunk on load, at least 32 pixels each way) in 8-bit grey (luma
  // 0.299 R + 0.587 G + 0.114 B, alpha flattened onto white), box-filtered
  // to 32x32 (aspect ratio ignored), turned upright, 2-D DCT-II, the 8x8
  // coefficients at frequencies 1..8 in each direction (the constant row and
  // column are left out), bit i set when coefficient i is above the median
  // of the 64.
  uint64_t phash = 0;

  // The 32x32 8-bit grey picture the hash is computed from (rows packed,
  // 1,024 bytes, the image as displayed, aspect ratio ignored); empty when
  // it did not decode. Near-duplicate search confirms a pHash match on these
  // pixels (src/check/likeness.hpp) before it reports one.
  std::vector<uint8_t> grid;

  // Frontal faces found (dlib HOG), or -1 when detection did not run (not
  // asked, too many pixels, or the image does not decode). Boxes are x, y,
  // width, height in pixels of the image as displayed (EXIF orientation
  // applied) at its full resolution, clipped to the image.
  int faces = -1;
  std::vector<std::array<int, 4>> face_boxes;
  // The smallest face (box side, original pixels) the scan was sized to find:
  // ImageOptions::min_face_px, or more when the image was so large that
  // scanning it at that sensitivity would exceed the detector's pixel cap.
  // 0 when detection did not run.
  int face_scan_min_px = 0;
};

struct ImageOptions {
  // Images with more pixels to decode (see too_many_pixels) are not decoded.
  uint64_t max_pixels = 100'000'000;
  bool detect_faces = false;
  // Faces whose box side is at least this many original pixels are looked
  // for. The detector's own smallest face is about 80 pixels, so the image is
  // scanned at scale 80 / min_face_px, but never over 0.8 megapixels of
  // detector input: up to 0.2 MP (500x400) the scan honours 40 px; a 1 MP
  // photo is scanned at 0.89x (faces from 90 px); beyond, the smallest face
  // is about 9% of sqrt(width x height) (face_scan_min_px says how far the
  // scan went). Cost: 40-47 ms a detector megapixel on one core with
  // AVX2. Measured on 1 MP JPEG photos (bench/check_images.sh): see
  // docs/checks.md, with what each setting still finds.
  int min_face_px = 40;
};

// Measures `bytes` (a whole image file). Thread-safe: call it from many
// threads at once (libvips itself runs one thread per call; parallelise
// across images). Never throws for bad image bytes: an empty buffer, text, a
// truncated or hostile file give facts with decodes == false. Throws
// kura::Error only for programming or resource failures (e.g. an invalid
// option, out of memory). Calls init_image_library() if nobody has.
[[nodiscard]] ImageFacts inspect_image(std::string_view bytes, const ImageOptions& options = {});

// Number of differing bits between two perceptual hashes (0..64).
[[nodiscard]] int hamming(uint64_t a, uint64_t b);

// Starts libvips once per process (later calls do nothing). Process-wide
// settings, chosen for many small independent images on all cores: libvips'
// operation cache off (every image is different), one libvips worker per
// call, untrusted loaders blocked (ImageMagick, PDF, SVG, ...: a dataset is
// untrusted input; BMP is readable only through ImageMagick, so a BMP reports
// format kBmp but decodes == false), and libvips' warnings to stderr
// silenced (their substance is returned in decode_error instead).
void init_image_library();

// A small copy of an image for display (kura serve's thumbnails).
struct Thumbnail {
  std::string bytes;      // the encoded thumbnail; empty when the image did not decode
  std::string mime;       // "image/jpeg", or "image/png" for an image with alpha
  int width = 0, height = 0;
  std::string error;      // why there is none, one line
};

// Shrinks `bytes` (a whole image file) to fit in max_side x max_side pixels
// (never enlarged), EXIF orientation applied, the first frame of an
// animation. libvips' thumbnail: a JPEG or WebP is shrunk while it is
// decoded, so a large photo is never decoded at full size. An image whose
// header declares more than `max_pixels` pixels is refused before any pixel
// is decoded. Thread-safe. Never throws for bad image bytes (the error says
// why); throws kura::Error for max_side outside 1..4096.
[[nodiscard]] Thumbnail make_thumbnail(std::string_view bytes, int max_side, uint64_t max_pixels);

// What one image needs (kura fix, fix.hpp): the fixes of the rules that
// fire on it.
struct ImageRepair {
  bool srgb = false;        // to 8-bit sRGB, alpha kept (image.bad_color_mode)
  bool upright = false;     // apply the EXIF orientation, drop the tag (image.exif_rotated)
  bool to_png = false;      // the first frame, as PNG (image.unsupported_format)
  uint64_t max_bytes = 0;   // the result must be at most this many bytes; 0: no limit
  uint64_t max_pixels = 100'000'000;  // refuse to decode more (a decompression bomb)
};

// The repaired image, or why there is none.
struct RepairedImage {
  std::string bytes;  // the new file's bytes; empty when error is set
  ImageFormat format = ImageFormat::kUnknown;
  int width = 0, height = 0;  // of the result, as displayed
  // How the size limit was met: "" (it was not over), "re-encoded at Q 80",
  // or "scaled down from 4000x3000 (Q 85)".
  std::string size_step;
  std::string error;  // why it could not be repaired, one line
};

// Repairs `bytes` (a whole image file) as `repair` asks, in the image module
// (libvips). The format is kept (JPEG stays JPEG, PNG stays PNG, WebP stays
// WebP) unless `to_png`; any other input becomes PNG. A BMP, which only
// ImageMagick reads, is decoded by libvips' ImageMagick loader, allowed for
// that one load only (untrusted loaders stay blocked for everything else).
// Thread-safe (repairs run one at a time in a process). Never throws for
// bad image bytes (the error says why); throws kura::Error when the image
// module cannot be loaded.
[[nodiscard]] RepairedImage repair_image(std::string_view bytes, const ImageRepair& repair);

// An image as a network takes it (kura train, eval, predict): size x size
// pixels, 8-bit sRGB, three planes (CHW: all of R, then G, then B).
struct ImagePixels {
  std::vector<uint8_t> chw;  // 3 * size * size bytes; empty when error is set
  std::string error;         // why the image does not decode, one line
};

// Decodes `bytes` (a whole image file) to exactly size x size (aspect ratio
// not kept), the image as displayed: EXIF orientation applied, the first
// frame of an animation, alpha flattened onto black, converted to 8-bit
// sRGB (grey copied to the three planes). Resampling is Pillow's bilinear
// (Image.resize(..., BILINEAR), Pillow 9: a triangle filter widened by the
// scale when shrinking, 22-bit fixed-point weights, a horizontal then a
// vertical pass each rounded to 8 bits), so the result is exactly what
// Pillow gives for the same decoded pixels, and the same bits on every
// machine. 8-bit PNGs without alpha or transparency (grey, RGB, palette) are
// decoded with libpng alone, in microseconds; every other image through
// libvips (a JPEG shrunk by its DCT while it is decoded, by the largest of
// 2, 4 or 8 that keeps both sides at least `size`), with the same result
// for the same pixels. Images whose header declares more than `max_pixels`
// pixels are refused before any pixel is decoded. A truncated or corrupt
// file is an error, not a grey picture. Thread-safe; never throws for bad
// image bytes (error says why); throws kura::Error for size outside 1..4096
// or when the image module cannot be loaded.
[[nodiscard]] ImagePixels decode_pixels(std::string_view bytes, int size, uint64_t max_pixels = 100'000'000);

// Work done since the process started, for tests that assert a cache hit did
// no work and for benchmarks. Monotonic; safe to read from any thread.
struct ImageCounters {
  uint64_t headers_read = 0;    // inspect_image() calls that reached libvips
  uint64_t images_decoded = 0;  // full decodes attempted (pixel limit passed)
  uint64_t faces_run = 0;       // face detector runs
  uint64_t pixels_png = 0;      // decode_pixels() calls served by libpng alone
  uint64_t pixels_vips = 0;     // decode_pixels() calls that went to libvips
};
[[nodiscard]] ImageCounters image_counters();

}  // namespace kura
