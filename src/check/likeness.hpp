// Likeness: whether two images whose perceptual hashes are close are really
// the same picture, judged on their 32x32 grey grids (ImageFacts::grid).
//
// A 64-bit pHash says little about an image with little detail: distinct
// handwritten digits lie 4-6 bits apart, as close as a re-encoded copy. And
// a photo cropped by a few percent can hash far from the original. So a
// pHash match is only a candidate; the grids decide:
//
//   if (auto l = same_picture(a.grid, a.width, a.height, b.grid, b.width, b.height))
//     ... the same picture, l->score and l->kept_percent say how alike
//
// The score is the normalised cross-correlation (Pearson's r, -1..1) of the
// two grids, so brightness and contrast changes do not lower it; it is taken
// at the best of a small set of alignments in which one grid is a crop of the
// other (each side keeps 80-100%), so a cropped copy scores like the
// original. docs/checks.md (the dataset.leakage rule) gives the measured
// figures behind the thresholds.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kura::check {

inline constexpr int kGridSide = 32;  // ImageFacts::grid is kGridSide x kGridSide

struct Likeness {
  double score = 0;      // best correlation, -1..1 (1: the same pixels up to brightness and contrast)
  int kept_percent = 100;  // of the area of the larger view that the other one is a crop of
};

// Compares two grids of kGridSide * kGridSide bytes, at the identity and,
// when `crops`, with either one a crop of the other (each side keeping at
// least 80%). Two flat grids (no detail at all) score 1 when their mean
// levels are within 4 of each other (of 255), else 0; a flat grid and a
// detailed one score 0.
[[nodiscard]] Likeness likeness(std::string_view a, std::string_view b, bool crops = true);

// The 64-bit DCT perceptual hash of a grid (the algorithm
// ImageFacts::phash describes; inspect_image computes it here).
[[nodiscard]] uint64_t grid_hash(std::string_view grid);

// The hashes (as grid_hash) of crops of a grid: each side kept at 94% or
// 88%, at the start, middle or end of each axis, 18 in all, and each axis
// alone kept at 90% (centred), 2 more. A copy of the picture cropped by a few
// percent hashes near one of them though far from the whole picture's hash,
// so near-duplicate search looks its pHash up among these as well.
inline constexpr int kCropHashes = 20;
[[nodiscard]] std::array<uint64_t, kCropHashes> crop_hashes(std::string_view grid);

// How much detail a grid holds, 0..1: the entropy of its levels in 16 bins,
// over the 4 bits 16 bins can hold. Measured on opencv-doc's images: photos
// 0.5-1.0, logos, text and diagrams 0.2-0.6, handwritten digit scans
// 0.2-0.6, a flat colour 0.
[[nodiscard]] double detail(std::string_view grid);

// Whether an image is so small (under 48 pixels on its shorter side) that
// its grid is an enlargement: the grids then tell a copy from a look-alike
// only uncropped and at a strict threshold.
[[nodiscard]] bool small_image(int width, int height);

// Whether two images are the same picture (the score that decides, or
// nullopt). A pair of which either is small (a 20 px handwritten digit)
// needs 0.995 with no crop: distinct digits of one class reach 0.993. A
// pair of which either holds little detail (under 0.65: diagrams, text,
// scans) needs 0.98, any crop alignment allowed; a detailed pair (photos)
// needs 0.93. docs/checks.md gives the figures measured on Debian's images.
[[nodiscard]] std::optional<Likeness> same_picture(std::string_view grid_a, int width_a, int height_a,
                                                   std::string_view grid_b, int width_b, int height_b);

}  // namespace kura::check
