#!/usr/bin/env bash
# Image-inspection throughput: kura::inspect_image() on ~1-megapixel JPEG photos.
#
#   bench/check_images.sh [--images N] [--threads T] [--reps R]
#
# Makes N (default 200) ~1 MP JPEGs (Q=90) from the real photos in Debian's
# opencv-doc package (each photo resized to about 1,000,000 pixels, keeping its
# aspect ratio; cycled until N files exist), builds a small driver against
# src/check with g++, and prints images/s for:
#   decode      header + full decode + perceptual hash (no face detection)
#   faces@F     the same plus face detection sized for faces of F px and up
# Target (docs): >= 40 images/s on 2 cores with face detection.
# Environment: BENCH_DIR (default /tmp/kura-bench). Needs g++, pkg-config,
# libvips-dev, libdlib-dev, opencv-doc, libvips-tools (apt-get installs them
# unless --no-install).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/kura-bench}
OUT=$BENCH_DIR/check-images
N=200 THREADS=2 REPS=3 INSTALL=1
while [ $# -gt 0 ]; do
  case $1 in
    --images) N=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --no-install) INSTALL=0 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$INSTALL" = 1 ]; then
  need=()
  for p in g++ pkg-config libvips-dev libvips-tools libdlib-dev opencv-doc; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] || apt-get install -y -q "${need[@]}" >/dev/null
fi

# ---------------------------------------------------------------- data
PHOTOS=/usr/share/doc/opencv-doc/examples/data
mkdir -p "$OUT/photos"
if [ ! -e "$OUT/photos.$N.complete" ]; then
  rm -f "$OUT"/photos/*.jpg
  mapfile -t srcs < <(for f in "$PHOTOS"/*.jpg; do
    # colour photos of at least 500x400 only
    w=$(vipsheader -f width "$f"); h=$(vipsheader -f height "$f"); b=$(vipsheader -f bands "$f")
    [ "$b" -ge 3 ] && [ $((w * h)) -ge 200000 ] && echo "$f"
  done)
  for ((i = 0; i < N; i++)); do
    f=${srcs[$((i % ${#srcs[@]}))]}
    w=$(vipsheader -f width "$f"); h=$(vipsheader -f height "$f")
    # scale so w*h ~ 1e6; vary by 1% per cycle so no two files have the same bytes
    s=$(awk -v w="$w" -v h="$h" -v c=$((i / ${#srcs[@]})) 'BEGIN{printf "%.4f", sqrt(1e6/(w*h)) * (1 + c/100)}')
    vips resize "$f" "$OUT/photos/$(printf '%05d' "$i").jpg[Q=90,strip]" "$s"
  done
  touch "$OUT/photos.$N.complete"
fi

# ---------------------------------------------------------------- driver
DRIVER=$OUT/inspect_bench
cat >"$OUT/inspect_bench.cpp" <<'EOF'
// inspect_bench MODE THREADS REPS FILE... ; MODE = decode | faces:<min_face_px>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kura/image_facts.hpp"
#include "util/parallel.hpp"

int main(int argc, char** argv) {
  std::string mode = argv[1];
  unsigned threads = std::stoul(argv[2]);
  int reps = std::stoi(argv[3]);
  std::vector<std::string> files;
  for (int i = 4; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    files.push_back(s.str());
  }
  kura::ImageOptions options;
  if (mode.rfind("faces:", 0) == 0) {
    options.detect_faces = true;
    options.min_face_px = std::stoi(mode.substr(6));
  }
  kura::init_image_library();
  double best = 1e9;
  long faces = 0, bad = 0;
  for (int r = 0; r < reps; ++r) {
    std::vector<kura::ImageFacts> facts(files.size());
    auto t0 = std::chrono::steady_clock::now();
    kura::parallel_for(files.size(), threads,
                       [&](size_t i) { facts[i] = kura::inspect_image(files[i], options); });
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s < best) best = s;
    faces = bad = 0;
    for (const auto& f : facts) {
      faces += f.faces > 0 ? f.faces : 0;
      bad += !f.decodes;
    }
  }
  std::printf("%-10s %3u threads  %4zu images  best %.3f s  %7.1f images/s  faces %ld  bad %ld\n",
              mode.c_str(), threads, files.size(), best, files.size() / best, faces, bad);
}
EOF
SRCS=("$ROOT/src/check/image_facts.cpp" "$ROOT/src/check/faces.cpp" "$ROOT/src/util/error.cpp")
if [ ! -x "$DRIVER" ] || [ -n "$(find "${SRCS[@]}" "$ROOT/include/kura/image_facts.hpp" -newer "$DRIVER")" ]; then
  # shellcheck disable=SC2046
  g++ -std=c++20 -O2 -g -I"$ROOT/include" -I"$ROOT/src" $(pkg-config --cflags vips-cpp dlib-1) \
    "$OUT/inspect_bench.cpp" "${SRCS[@]}" -o "$DRIVER" \
    $(pkg-config --libs vips-cpp dlib-1) -pthread
fi

# ---------------------------------------------------------------- run
echo "== inspect_image on $N ~1 MP JPEGs, $THREADS threads, best of $REPS (load: $(cut -d' ' -f1-3 /proc/loadavg))"
for mode in decode faces:40 faces:80 faces:120 faces:140 faces:160; do
  "$DRIVER" "$mode" "$THREADS" "$REPS" "$OUT"/photos/*.jpg
done
