// Frontal face detection for the moderation checks: dlib's HOG detector
// (no model file; the weights are compiled into dlib). Private to src/check;
// image_facts.cpp decides the scale and maps boxes back to the original.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace kura::check {

// The side, in detector-input pixels, of the smallest face dlib's frontal
// detector finds: its sliding window is 80x80 and its image pyramid only goes
// down. To find faces of side F in an image, scan it at scale 80 / F.
inline constexpr int kDetectorMinFacePx = 80;

// Detector input larger than this is not scanned: the image is shrunk and the
// guaranteed minimum face grows instead (the cost is linear in pixels, about
// 0.1 s a megapixel on one core here).
inline constexpr double kDetectorMaxPixels = 16e6;

// Faces in an 8-bit grey image of width x height pixels, rows packed without
// padding. Returns x, y, w, h boxes in that image's pixels (not clipped: dlib
// may return a box reaching past an edge). Thread-safe: each thread gets its
// own detector, copied once from a process-wide prototype.
std::vector<std::array<int, 4>> find_faces(const uint8_t* grey, int width, int height);

}  // namespace kura::check
