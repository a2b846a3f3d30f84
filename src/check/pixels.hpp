// The image module's parts of decode_pixels() (kura/image_facts.hpp):
// Pillow's bilinear resampling and the counters image_counters() reports.
#pragma once

#include <cstdint>
#include <vector>

#include "kura/image_facts.hpp"

namespace kura::media {

// An 8-bit picture: `height` rows of `width` pixels of `bands` (1 or 3)
// interleaved samples, rows packed.
struct Raster {
  int width = 0, height = 0, bands = 0;
  std::vector<uint8_t> data;
};

// Resamples `in` to size x size with Pillow 9's bilinear filter (its
// ImagingResample: coefficients as Pillow computes them, 22-bit fixed point,
// a horizontal pass then a vertical one, each rounded to 8 bits) and writes
// three planes (R, G, B; a grey picture copied to all three) to out, which
// holds 3 * size * size bytes. Integer arithmetic: the same bits everywhere.
void resample_to_planes(const Raster& in, int size, uint8_t* out);

// Adds decode_pixels()'s counts (pixels_png, pixels_vips) to *counters.
void add_pixel_counters(ImageCounters* counters);

}  // namespace kura::media
