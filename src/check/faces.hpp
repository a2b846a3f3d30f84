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

// Detector input is capped at this many pixels: a larger image is scanned
// shrunk, and the smallest face it can find grows instead (faces of
// min_face_px 40 are honoured up to 0.2 MP; a 1 MP photo is scanned at
// 0.89x, i.e. from 90 px faces: about 9% of sqrt(width x height)). The scan
// cost 40-47 ms a detector megapixel on one core with AVX2 (58 without)
// before issue 14 and about 20% less since, so this keeps face detection on
// 1 MP photos over 40 images/s on two cores (57-58 measured under load).
// docs/checks.md has the recall each setting keeps.
inline constexpr double kDetectorMaxPixels = 0.8e6;

// Faces in an 8-bit grey image of width x height pixels, rows packed without
// padding, scanned resized (bilinear) to scan_width x scan_height. Returns
// x, y, w, h boxes in the resized image's pixels (not clipped: dlib may
// return a box reaching past an edge). Thread-safe: each thread gets its
// own detector, copied once from a process-wide prototype.
// Uses the AVX2 build of the scan (faces_avx2.cpp) when the CPU has AVX2 and
// FMA, else the generic x86-64 one; the boxes are the same either way.
std::vector<std::array<int, 4>> find_faces(const uint8_t* grey, int width, int height, int scan_width,
                                           int scan_height);

// Whether find_faces runs the AVX2 build: decided once per process from the
// CPU (__builtin_cpu_supports), unless KURA_FACES_ISA=generic in the
// environment forces the generic build (for benchmarks and tests).
bool faces_use_avx2();

}  // namespace kura::check
