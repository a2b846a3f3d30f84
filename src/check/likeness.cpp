#include "check/likeness.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <numbers>
#include <vector>

namespace kura::check {

namespace {

constexpr int kN = kGridSide;
constexpr int kCells = kN * kN;
using Plane = std::array<float, kCells>;

// Zero mean, unit length (so a dot product is the correlation); false when
// the plane is flat.
bool normalise(Plane& p) {
  double sum = 0;
  for (float v : p) sum += v;
  const double mean = sum / kCells;
  double squares = 0;
  for (float& v : p) {
    v = float(v - mean);
    squares += double(v) * v;
  }
  if (squares < 1.0 * kCells) return false;  // standard deviation under 1 level
  const float scale = float(1.0 / std::sqrt(squares));
  for (float& v : p) v *= scale;
  return true;
}

Plane plane_of(std::string_view grid) {
  Plane p{};
  for (int i = 0; i < kCells; ++i) p[i] = static_cast<uint8_t>(grid[i]);
  return p;
}

// The region [x0, x0 + w) x [y0, y0 + h) of `p` (in cells) resampled to
// kN x kN, bilinear.
Plane crop(const Plane& p, double x0, double y0, double w, double h) {
  std::array<int, kN> xi{}, yi{};
  std::array<float, kN> xf{}, yf{};
  for (int i = 0; i < kN; ++i) {
    auto at = [](double start, double size, int i, int& index, float& frac) {
      double c = start + (i + 0.5) * size / kN - 0.5;
      c = std::clamp(c, 0.0, double(kN - 1));
      index = std::min(int(c), kN - 2);
      frac = float(c - index);
    };
    at(x0, w, i, xi[i], xf[i]);
    at(y0, h, i, yi[i], yf[i]);
  }
  Plane out{};
  for (int y = 0; y < kN; ++y) {
    const float* r0 = p.data() + yi[y] * kN;
    const float* r1 = r0 + kN;
    const float fy = yf[y];
    for (int x = 0; x < kN; ++x) {
      const int i = xi[x];
      const float fx = xf[x];
      const float top = r0[i] + fx * (r0[i + 1] - r0[i]);
      const float bottom = r1[i] + fx * (r1[i + 1] - r1[i]);
      out[y * kN + x] = top + fy * (bottom - top);
    }
  }
  return out;
}

float dot(const Plane& a, const Plane& b) {
  float sum = 0;
  for (int i = 0; i < kCells; ++i) sum += a[i] * b[i];
  return sum;
}

// Where a crop of the larger view lies in it, in cells: [x, x + w) x [y, y + h).
struct Window {
  double x = 0, y = 0, w = kN, h = kN;
};

// The correlation of `small` (normalised) with `window` of `large`; -1 when
// the window leaves the grid or is flat.
double score_at(const Plane& large, const Plane& small, const Window& win) {
  constexpr double kMinSide = 0.8 * kN;
  if (win.x < -0.01 || win.y < -0.01 || win.x + win.w > kN + 0.01 || win.y + win.h > kN + 0.01 ||
      win.w < kMinSide || win.h < kMinSide)
    return -1;
  Plane c = crop(large, win.x, win.y, win.w, win.h);
  if (!normalise(c)) return -1;
  return dot(c, small);
}

// The best correlation of `small` (normalised) with a crop of `large` (raw):
// a coarse search over crops keeping 100%, 92% or 84% of each side at its
// start, middle or end, then a descent from the best of them in steps of
// one, a half and a quarter cell.
Likeness best_crop(const Plane& large, const Plane& small, double identity) {
  static constexpr std::array<std::pair<double, double>, 7> kSpans{
      {{1.0, 0.0}, {0.92, 0.0}, {0.92, 0.04}, {0.92, 0.08}, {0.84, 0.0}, {0.84, 0.08}, {0.84, 0.16}}};
  Window best;
  double best_score = identity;
  for (const auto& [kx, sx] : kSpans)
    for (const auto& [ky, sy] : kSpans) {
      if (kx == 1.0 && ky == 1.0) continue;  // the identity, already scored
      const Window w{sx * kN, sy * kN, kx * kN, ky * kN};
      const double score = score_at(large, small, w);
      if (score > best_score) best_score = score, best = w;
    }
  for (double step : {1.0, 0.5, 0.25}) {
    for (bool moved = true; moved;) {
      moved = false;
      for (int k = 0; k < 8; ++k) {
        Window w = best;
        const double d = (k & 1) ? step : -step;
        switch (k / 2) {
          case 0: w.x += d; break;
          case 1: w.y += d; break;
          case 2: w.w += d; w.x -= d / 2; break;  // grow or shrink about the centre
          default: w.h += d; w.y -= d / 2; break;
        }
        const double score = score_at(large, small, w);
        if (score > best_score + 1e-6) best_score = score, best = w, moved = true;
      }
    }
  }
  return {best_score, int(std::lround(100 * best.w * best.h / (kN * kN)))};
}

// The DCT hash of 32x32 levels (ImageFacts::phash describes it).
template <typename Level>
uint64_t dct_hash(const Level* grey) {
  constexpr int kK = 8;
  // cosines[n][k] = cos(pi * (2n + 1) * k / 2N), frequencies 1..8 only.
  static const auto cosines = [] {
    std::array<std::array<double, kK>, kN> c{};
    for (int k = 0; k < kK; ++k)
      for (int n = 0; n < kN; ++n)
        c[n][k] = std::cos(std::numbers::pi * (2 * n + 1) * (k + 1) / (2 * kN));
    return c;
  }();
  // Each sum is taken in the order x (then y) = 0, 1, ..., 31, as a plain
  // loop per coefficient would, so the hash is the same bit for bit; the
  // innermost loops run over 8 sums at once, which the compiler vectorizes
  // (one sum at a time is a chain of dependent additions: 20 crop hashes
  // took 0.7 ms an image).
  std::array<std::array<double, kK>, kN> rows{};  // DCT along x of each row
  for (int y = 0; y < kN; ++y) {
    std::array<double, kK> sum{};
    for (int x = 0; x < kN; ++x) {
      const double v = grey[y * kN + x];
      for (int k = 0; k < kK; ++k) sum[k] += v * cosines[x][k];
    }
    rows[y] = sum;
  }
  std::array<double, kK * kK> coefficients{};
  for (int y = 0; y < kN; ++y)
    for (int j = 0; j < kK; ++j) {
      const double c = cosines[y][j];
      for (int k = 0; k < kK; ++k) coefficients[j * kK + k] += c * rows[y][k];
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

}  // namespace

uint64_t grid_hash(std::string_view grid) {
  if (grid.size() != size_t(kCells)) return 0;
  return dct_hash(reinterpret_cast<const uint8_t*>(grid.data()));
}

std::array<uint64_t, kCropHashes> crop_hashes(std::string_view grid) {
  std::array<uint64_t, kCropHashes> out{};
  if (grid.size() != size_t(kCells)) return out;
  const Plane p = plane_of(grid);
  size_t n = 0;
  for (double keep : {0.94, 0.88}) {
    const double side = keep * kN, slack = kN - side;
    for (double fy : {0.0, 0.5, 1.0})
      for (double fx : {0.0, 0.5, 1.0}) {
        const Plane c = crop(p, fx * slack, fy * slack, side, side);
        out[n++] = dct_hash(c.data());
      }
  }
  const double side = 0.9 * kN, slack = kN - side;
  out[n++] = dct_hash(crop(p, slack / 2, 0, side, kN).data());
  out[n++] = dct_hash(crop(p, 0, slack / 2, kN, side).data());
  return out;
}

Likeness likeness(std::string_view a, std::string_view b, bool crops) {
  if (a.size() != size_t(kCells) || b.size() != size_t(kCells)) return {};
  const Plane ra = plane_of(a), rb = plane_of(b);
  Plane na = ra, nb = rb;
  const bool da = normalise(na), db = normalise(nb);
  if (!da || !db) {
    if (da || db) return {};
    double ma = 0, mb = 0;
    for (int i = 0; i < kCells; ++i) ma += ra[i], mb += rb[i];
    return {std::abs(ma - mb) / kCells <= 4.0 ? 1.0 : 0.0, 100};
  }
  const double identity = dot(na, nb);
  if (!crops || identity >= 0.98) return {identity, 100};  // no crop can matter
  // Either one may be the crop of the other.
  Likeness x = best_crop(ra, nb, identity), y = best_crop(rb, na, identity);
  return x.score >= y.score ? x : y;
}

double detail(std::string_view grid) {
  if (grid.size() != size_t(kCells)) return 0;
  std::array<int, 16> bins{};
  for (char c : grid) ++bins[static_cast<uint8_t>(c) >> 4];
  double entropy = 0;
  for (int n : bins)
    if (n) entropy -= double(n) / kCells * std::log2(double(n) / kCells);
  return entropy / 4;  // of the 4 bits 16 levels can hold
}

bool small_image(int width, int height) { return std::min(width, height) < 48; }

std::optional<Likeness> same_picture(std::string_view grid_a, int width_a, int height_a, std::string_view grid_b,
                                     int width_b, int height_b) {
  if (grid_a.size() != size_t(kCells) || grid_b.size() != size_t(kCells)) return std::nullopt;
  if (small_image(width_a, height_a) || small_image(width_b, height_b)) {
    const Likeness l = likeness(grid_a, grid_b, false);
    if (l.score >= 0.995) return l;
    return std::nullopt;
  }
  const bool plain = detail(grid_a) < 0.65 || detail(grid_b) < 0.65;
  const Likeness l = likeness(grid_a, grid_b, true);
  if (l.score >= (plain ? 0.98 : 0.93)) return l;
  return std::nullopt;
}

}  // namespace kura::check
