#!/usr/bin/env bash
# Image-inspection throughput: kura::inspect_image() on ~1-megapixel JPEG photos,
# and (with --kura) cold and warm 'kura check' on the 10,000-JPEG folder.
#
#   bench/check_images.sh [--images N] [--threads T] [--reps R] [--kura] [--commit] [--no-install]
#
# Makes N (default 200) ~1 MP JPEGs (Q=90) from the real photos in Debian's
# opencv-doc package (each photo resized to about 1,000,000 pixels, keeping its
# aspect ratio; cycled until N files exist), builds a small driver against
# src/check with g++ (the face scan twice, as CMakeLists.txt does: generic and
# -mavx2 -mfma), and prints for each mode the wall-clock images/s and the CPU
# time per image, with the images/s that CPU time allows on T free cores (the
# machine is shared, so wall-clock figures vary with the load; CPU time much less):
#   decode          header + full decode + perceptual hash (no face detection)
#   faces:F         the same plus face detection sized for faces of F px and up
#   generic faces:F the same with the generic (SSE2) build of the scan
# and 'faces:40' again on 200 400x400 JPEGs of bench/gen_images.py (noise over
# a gradient, the kind bench/core.sh commits; made in $BENCH_DIR/data/jpegs400).
# --kura: also the product path, kura itself (process start, hashing, the
# result cache, the report included), with peak memory (GNU time):
#   'kura check' with faces on the N photos (outside a repository; its cache
#   of results, $XDG_CACHE_HOME/kura/check-cache, emptied first; the face
#   model's cache kept, as after any first use), and
#   'kura check --rev HEAD --no-faces' on $BENCH_DIR/data/jpegs (10,000 ~100 kB
#   JPEGs of bench/gen_images.py; run bench/core.sh gen first), committed once
#   with --no-verify into $BENCH_DIR/check-images/repo: cold (a policy no
#   cached result matches) and warm (the same again).
# --commit: a plain 'kura commit' (all checks on, nothing cached but the face
#   model) of the 2,000 400x400 JPEGs bench/core.sh's 'checks' section commits
#   (its d00 and d01: bench/gen_images.py big --bases 20 --folders 2 makes the
#   same files, in $BENCH_DIR/data/jpegs2k), wall and CPU time.
# Targets (issue 3): >= 40 images/s with faces (1 MP, 2 cores), >= 1,000
# images/s cold format checks, >= 50,000 images/s warm, < 1 GB peak memory.
# Issue 14: >= 60 images/s for 'kura check' with faces on the 1 MP photos, and
# >= 150 images/s for the plain 'kura commit' of --commit, on 2 free cores;
# the lines say so next to each figure. docs/checks.md has the figures.
# Environment: BENCH_DIR (default /tmp/kura-bench), KURA (default build/kura).
# Needs g++, pkg-config, libvips-dev, libdlib-dev, opencv-doc, libvips-tools,
# time (apt-get installs them unless --no-install).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/kura-bench}
OUT=$BENCH_DIR/check-images
N=200 THREADS=2 REPS=3 INSTALL=1 KURA_RUN=0 COMMIT_RUN=0
KURA=${KURA:-$ROOT/build/kura}
while [ $# -gt 0 ]; do
  case $1 in
    --images) N=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --no-install) INSTALL=0 ;;
    --kura) KURA_RUN=1 ;;
    --commit) COMMIT_RUN=1 ;;
    -h|--help) sed -n '2,39p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
[ "$INSTALL" = 0 ] || install_missing g++ pkg-config libvips-dev libvips-tools libdlib-dev opencv-doc time

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
// Prints the best wall time of REPS runs and the CPU time of the same run.
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <cstdlib>
#include <string>
#include <vector>

#include "kura/image_facts.hpp"
#include "util/parallel.hpp"

int main(int argc, char** argv) {
  // As cli/main.cpp does for kura: large buffers stay in the heap. Without
  // it, each image's buffers were fresh mmaps here (page faults) unless
  // something earlier had raised glibc's dynamic mmap threshold.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
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
  double best = 1e9, best_cpu = 0;
  long faces = 0, bad = 0;
  for (int r = 0; r < reps; ++r) {
    std::vector<kura::ImageFacts> facts(files.size());
    auto t0 = std::chrono::steady_clock::now();
    timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    kura::parallel_for(files.size(), threads,
                       [&](size_t i) { facts[i] = kura::inspect_image(files[i], options); });
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double cpu = (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) * 1e-9;
    if (s < best) best = s, best_cpu = cpu;
    faces = bad = 0;
    for (const auto& f : facts) {
      faces += f.faces > 0 ? f.faces : 0;
      bad += !f.decodes;
    }
  }
  const char* isa = std::getenv("KURA_FACES_ISA");
  std::printf("%-8s%-10s %u threads %4zu images  wall %6.1f images/s  cpu %6.2f ms/image = %6.1f images/s on %u cores  faces %ld  bad %ld\n",
              isa ? isa : "", mode.c_str(), threads, files.size(), files.size() / best,
              1000 * best_cpu / files.size(), threads * files.size() / best_cpu, threads, faces, bad);
}
EOF
build_image_driver "$OUT/inspect_bench.cpp" "$DRIVER"

# ---------------------------------------------------------------- run
echo "== inspect_image on $N ~1 MP JPEGs, $THREADS threads, best of $REPS (load: $(cut -d' ' -f1-3 /proc/loadavg))"
for mode in decode faces:40 faces:80 faces:160; do
  "$DRIVER" "$mode" "$THREADS" "$REPS" "$OUT"/photos/*.jpg
done
KURA_FACES_ISA=generic "$DRIVER" faces:40 "$THREADS" "$REPS" "$OUT"/photos/*.jpg
python3 "$HERE/gen_images.py" big "$BENCH_DIR/data/jpegs400" --bases 2 --folders 1 >/dev/null
echo "== inspect_image on 200 400x400 JPEGs (bench/gen_images.py), $THREADS threads, best of $REPS"
"$DRIVER" faces:40 "$THREADS" "$REPS" "$BENCH_DIR"/data/jpegs400/d00/*.jpg

# ---------------------------------------------------------------- kura commit
[ "$KURA_RUN" = 1 ] || [ "$COMMIT_RUN" = 1 ] || exit 0
[ -x "$KURA" ] || { echo "no kura binary at $KURA (scripts/build.sh)" >&2; exit 2; }
export GIT_CONFIG_GLOBAL=${GIT_CONFIG_GLOBAL:-$BENCH_DIR/gitconfig}
[ -f "$GIT_CONFIG_GLOBAL" ] || printf '[user]\n\tname = bench\n\temail = bench@example.com\n' >"$GIT_CONFIG_GLOBAL"
say_time() {  # say_time LABEL IMAGES TIMEFILE TARGET: wall and CPU against a target in images/s
  read -r wall user sys <"$3"
  awk -v l="$1" -v n="$2" -v w="$wall" -v u="$user" -v s="$sys" -v t="$4" 'BEGIN {
    printf "%s: wall %.1f s = %.1f images/s; cpu %.1f s (user %.1f, sys %.1f) = %.2f ms/image = %.1f images/s on 2 free cores; target %s images/s (%s on 2 free cores)\n",
           l, w, n / w, u + s, u, s, 1000 * (u + s) / n, 2 * n / (u + s), t, ((2 * n / (u + s) >= t) ? "met" : "missed") }'
}
if [ "$COMMIT_RUN" = 1 ]; then
  python3 "$HERE/gen_images.py" big "$BENCH_DIR/data/jpegs2k" --bases 20 --folders 2 >/dev/null
  ds=$OUT/commit/ds
  echo "== kura commit (checks on) of 2,000 400x400 JPEGs, cold (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  for ((r = 0; r < REPS; r++)); do
    rm -rf "$OUT/commit" "$OUT/xdg-commit/kura/check-cache"; mkdir -p "$ds"
    cp -r "$BENCH_DIR/data/jpegs2k/d00" "$BENCH_DIR/data/jpegs2k/d01" "$ds/"; sync
    (cd "$ds" && "$KURA" -q init >/dev/null && "$KURA" -q add . >/dev/null)
    (cd "$ds" && XDG_CACHE_HOME=$OUT/xdg-commit /usr/bin/time -f "%e %U %S" -o "$OUT/time.commit" \
       "$KURA" commit -m x >"$OUT/commit.log" 2>&1) || { echo "kura commit failed: $(tail -3 "$OUT/commit.log")"; }
    say_time "kura commit" 2000 "$OUT/time.commit" 150
  done
fi

# ---------------------------------------------------------------- kura check
[ "$KURA_RUN" = 1 ] || exit 0
JPEGS=$BENCH_DIR/data/jpegs
[ -d "$JPEGS" ] || { echo "no $JPEGS: run bench/core.sh gen first" >&2; exit 2; }
REPO=$OUT/repo
if [ ! -e "$REPO/.complete" ]; then
  rm -rf "$REPO"; mkdir -p "$REPO"; cp -r "$JPEGS"/. "$REPO"/
  (cd "$REPO" && "$KURA" -q init >/dev/null && "$KURA" -q add . && "$KURA" -q commit --no-verify -m data >/dev/null)
  touch "$REPO/.complete"
fi
report() {  # report RUN IMAGES TIMEFILE
  read -r wall user sys rss <"$3"
  awk -v r="$1" -v n="$2" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" -v t="$THREADS" 'BEGIN {
    printf "%-5s wall %6.2f s = %8.1f images/s   cpu %6.2f s = %6.3f ms/image = %8.1f images/s on %d cores   peak %4.0f MB\n",
           r, w, n / w, u + s, 1000 * (u + s) / n, t * n / (u + s), t, m / 1024 }'
}
export XDG_CACHE_HOME=$OUT/xdg-cache
echo "== kura check (faces) on the $N photos of $OUT/photos (load: $(cut -d' ' -f1-3 /proc/loadavg))"
(cd "$OUT/photos" && "$KURA" check --json >/dev/null) || true  # the face model's cache
for ((r = 0; r < REPS; r++)); do
  rm -rf "$XDG_CACHE_HOME/kura/check-cache"
  (cd "$OUT/photos" && /usr/bin/time -f "%e %U %S %M" -o "$OUT/time.faces" "$KURA" check --json >"$OUT/report.faces.json")
  report cold "$N" "$OUT/time.faces"
  cut -d' ' -f1-3 "$OUT/time.faces" >"$OUT/time.faces3"
  say_time "      against issue 14" "$N" "$OUT/time.faces3" 60
done
n=$(find "$REPO" -name '*.jpg' | wc -l)
# A max_pixels no earlier run used: the cache key differs, so the first run is cold.
policy=$OUT/policy.json
printf '{"detect_faces": false, "max_pixels": %s}\n' "$((100000000 + $(date +%s) % 1000000))" >"$policy"
echo "== kura check --rev HEAD --no-faces on $n JPEGs of $JPEGS (load: $(cut -d' ' -f1-3 /proc/loadavg))"
for run in cold warm; do
  /usr/bin/time -f "%e %U %S %M" -o "$OUT/time.$run" "$KURA" -C "$REPO" check --rev HEAD --policy "$policy" --json >"$OUT/report.$run.json"
  report "$run" "$n" "$OUT/time.$run"
done
/usr/bin/time -f "%e %U %S" -o "$OUT/time.start" "$KURA" --version >/dev/null
read -r wall user sys <"$OUT/time.start"
echo "      (of which process start, kura --version: wall $wall s, cpu $(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}') s)"
