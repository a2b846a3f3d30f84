// Pillow's bilinear resize (libImaging/Resample.c, Pillow 9), re-done from
// its description so that kura's training pixels are what a PyTorch user
// gets from PIL.Image.resize(size, BILINEAR) on the same decoded image.
#include <cmath>
#include <cstring>

#include "check/pixels.hpp"

namespace kura::media {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

double triangle(double x) {
  if (x < 0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

// For each output position: the first input sample, how many, and their
// fixed-point weights (ksize per position).
struct Coefficients {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> weights;
};

Coefficients coefficients(int in_size, int out_size) {
  Coefficients c;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = scale < 1.0 ? 1.0 : scale;
  const double support = 1.0 * filter_scale;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filter_scale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = triangle((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double w = ww != 0.0 ? k[x] / ww : k[x];
      c.weights[static_cast<size_t>(xx) * c.ksize + x] =
          static_cast<int32_t>(w < 0 ? -0.5 + w * (1 << kPrecisionBits) : 0.5 + w * (1 << kPrecisionBits));
    }
    c.first[xx] = xmin;
    c.count[xx] = xmax;
  }
  return c;
}

uint8_t clip8(int32_t v) {
  if (v >= (255 << kPrecisionBits)) return 255;
  if (v <= 0) return 0;
  return static_cast<uint8_t>(v >> kPrecisionBits);
}

}  // namespace

void resample_to_planes(const Raster& in, int size, uint8_t* out) {
  const int bands = in.bands;
  const Coefficients h = coefficients(in.width, size), v = coefficients(in.height, size);
  // Rows of the input the vertical pass reads.
  const int row_first = v.first[0], row_last = v.first[size - 1] + v.count[size - 1];
  const bool horizontal = in.width != size, vertical = in.height != size;

  Raster wide;  // after the horizontal pass: size columns, rows row_first..row_last
  const Raster* src = &in;
  int row_offset = 0;
  if (horizontal) {
    wide.width = size;
    wide.height = row_last - row_first;
    wide.bands = bands;
    wide.data.resize(static_cast<size_t>(wide.width) * wide.height * bands);
    for (int y = 0; y < wide.height; ++y) {
      const uint8_t* row = &in.data[static_cast<size_t>(y + row_first) * in.width * bands];
      uint8_t* to = &wide.data[static_cast<size_t>(y) * size * bands];
      for (int xx = 0; xx < size; ++xx) {
        const int32_t* k = &h.weights[static_cast<size_t>(xx) * h.ksize];
        for (int b = 0; b < bands; ++b) {
          int32_t ss = 1 << (kPrecisionBits - 1);
          for (int x = 0; x < h.count[xx]; ++x) ss += row[(x + h.first[xx]) * bands + b] * k[x];
          to[xx * bands + b] = clip8(ss);
        }
      }
    }
    src = &wide;
    row_offset = row_first;
  }

  const size_t plane = static_cast<size_t>(size) * size;
  for (int yy = 0; yy < size; ++yy) {
    for (int xx = 0; xx < size; ++xx) {
      for (int b = 0; b < bands; ++b) {
        uint8_t value;
        if (vertical) {
          const int32_t* k = &v.weights[static_cast<size_t>(yy) * v.ksize];
          int32_t ss = 1 << (kPrecisionBits - 1);
          for (int y = 0; y < v.count[yy]; ++y)
            ss += src->data[(static_cast<size_t>(y + v.first[yy] - row_offset) * src->width + xx) * bands + b] * k[y];
          value = clip8(ss);
        } else {
          value = src->data[(static_cast<size_t>(yy - row_offset) * src->width + xx) * bands + b];
        }
        const size_t at = static_cast<size_t>(yy) * size + xx;
        if (bands == 1) out[at] = out[plane + at] = out[2 * plane + at] = value;
        else out[b * plane + at] = value;
      }
    }
  }
}

}  // namespace kura::media
