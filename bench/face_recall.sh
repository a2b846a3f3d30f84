#!/usr/bin/env bash
# What face detection finds: kura::inspect_image() with detect_faces on
# dlib's labelled face photos, as they are and resized to 1 megapixel, and on
# the 22 face-free opencv-doc photos of tests/check/check_test.cpp.
#
#   bench/face_recall.sh [--min-face PX ...] [--no-install]
#
# Labels: /usr/share/doc/libdlib19.1/examples/faces/{training,testing}.xml,
# 43 faces in 9 PASCAL VOC photos of about 500x375 (most faces 37-53 px).
# A labelled face counts as found when a detection overlaps it with an
# intersection over union of at least 0.3 (dlib's detector draws its own,
# squarer boxes); a detection that matches no label is a false positive.
# For each minimum face size (default: 40, the policy default, then 60 80
# 100 120) prints faces found, photos with a face found, false positives,
# and the smallest face the scan could find (face_scan_min_px) for:
#   labelled  the 9 photos as dlib ships them (0.2 MP)
#   1mp       the same photos resized to about 1,000,000 pixels (faces then
#             85-250 px; this is where the 0.8 MP scan budget applies)
#   clean     22 face-free photos (every detection is a false positive)
# Environment: BENCH_DIR (default /tmp/kura-bench).
# Needs g++, pkg-config, libvips-dev, libvips-tools, libdlib-dev, opencv-doc,
# python3 (apt-get installs them unless --no-install).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/kura-bench}
OUT=$BENCH_DIR/face-recall
INSTALL=1
SIZES=()
while [ $# -gt 0 ]; do
  case $1 in
    --min-face) SIZES+=("$2"); shift ;;
    --no-install) INSTALL=0 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
[ ${#SIZES[@]} -gt 0 ] || SIZES=(40 60 80 100 120)

# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
[ "$INSTALL" = 0 ] || install_missing g++ pkg-config libvips-dev libvips-tools libdlib-dev opencv-doc python3

FACES=/usr/share/doc/libdlib19.1/examples/faces
PHOTOS=/usr/share/doc/opencv-doc/examples/data
mkdir -p "$OUT/labelled" "$OUT/1mp" "$OUT/clean"

# ---------------------------------------------------------------- data
labelled=(2007_007763 2008_001009 2008_001322 2008_002079 2008_002470 2008_002506 2008_004176
          2008_007676 2009_004587)
clean=(Blender_Suzanne1 HappyFish aero1 aero3 aloeR apple baboon blox board building butterfly
       ela_original fruits home left leuvenA orange right squirrel_cls starry_night stuff text_defocus)
for f in "${labelled[@]}"; do
  cp "$FACES/$f.jpg" "$OUT/labelled/"
  if [ ! -e "$OUT/1mp/$f.jpg" ]; then
    w=$(vipsheader -f width "$FACES/$f.jpg"); h=$(vipsheader -f height "$FACES/$f.jpg")
    s=$(awk -v w="$w" -v h="$h" 'BEGIN{printf "%.6f", sqrt(1e6/(w*h))}')
    vips resize "$FACES/$f.jpg" "$OUT/1mp/$f.jpg[Q=90,strip]" "$s"
  fi
done
for f in "${clean[@]}"; do cp "$PHOTOS/$f.jpg" "$OUT/clean/"; done

# ---------------------------------------------------------------- driver
DRIVER=$OUT/face_boxes
cat >"$OUT/face_boxes.cpp" <<'EOF'
// face_boxes MIN_FACE_PX FILE... : one line a file,
// "file width height face_scan_min_px x,y,w,h x,y,w,h ...".
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "kura/image_facts.hpp"

int main(int argc, char** argv) {
  kura::ImageOptions options;
  options.detect_faces = true;
  options.min_face_px = std::stoi(argv[1]);
  kura::init_image_library();
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    const kura::ImageFacts facts = kura::inspect_image(bytes.str(), options);
    if (!facts.decodes) {
      std::fprintf(stderr, "%s: %s\n", argv[i], facts.decode_error.c_str());
      return 1;
    }
    std::printf("%s %d %d %d", argv[i], facts.width, facts.height, facts.face_scan_min_px);
    for (const auto& b : facts.face_boxes) std::printf(" %d,%d,%d,%d", b[0], b[1], b[2], b[3]);
    std::printf("\n");
  }
}
EOF
build_image_driver "$OUT/face_boxes.cpp" "$DRIVER"

# ---------------------------------------------------------------- run
printf '%-8s %-9s %12s %12s %16s %14s\n' "min face" set "faces found" "photos" "false positives" "scan finds"
for px in "${SIZES[@]}"; do
  for set in labelled 1mp clean; do
    "$DRIVER" "$px" "$OUT/$set"/*.jpg >"$OUT/boxes.$set.$px"
    python3 - "$FACES" "$set" "$px" "$OUT/boxes.$set.$px" <<'EOF'
import os, sys
import xml.etree.ElementTree as ET
faces_dir, name, px, boxes_file = sys.argv[1:5]
labels = {}  # photo -> (width, height, [(x, y, w, h)])
for xml in ("training.xml", "testing.xml"):
    for image in ET.parse(os.path.join(faces_dir, xml)).getroot().iter("image"):
        stem = os.path.splitext(image.get("file"))[0]
        boxes = [tuple(int(b.get(k)) for k in ("left", "top", "width", "height"))
                 for b in image.iter("box") if b.get("ignore") != "1"]
        labels[stem] = boxes

def iou(a, b):
    ax0, ay0, ax1, ay1 = a[0], a[1], a[0] + a[2], a[1] + a[3]
    bx0, by0, bx1, by1 = b[0], b[1], b[0] + b[2], b[1] + b[3]
    iw = max(0, min(ax1, bx1) - max(ax0, bx0)); ih = max(0, min(ay1, by1) - max(ay0, by0))
    inter = iw * ih
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)

found = total = photos_found = photos = false = 0
scan_min = set()
for line in open(boxes_file):
    parts = line.split()
    stem = os.path.splitext(os.path.basename(parts[0]))[0]
    width, height, smin = int(parts[1]), int(parts[2]), int(parts[3])
    scan_min.add(smin)
    dets = [tuple(int(v) for v in p.split(",")) for p in parts[4:]]
    truth = []
    if name != "clean":
        # label boxes are in the shipped photo's pixels; scale to this copy
        import subprocess
        orig = os.path.join(faces_dir, stem + ".jpg")
        ow, oh = (int(subprocess.check_output(["vipsheader", "-f", f, orig])) for f in ("width", "height"))
        sx, sy = width / ow, height / oh
        truth = [(b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy) for b in labels[stem]]
    used = set()
    hit = 0
    for t in truth:
        best = max(((iou(t, d), i) for i, d in enumerate(dets) if i not in used), default=(0, -1))
        if best[0] >= 0.3:
            used.add(best[1]); hit += 1
    found += hit; total += len(truth); false += len(dets) - len(used)
    photos += 1; photos_found += hit > 0
smin = "-".join(str(v) for v in sorted(scan_min)) if len(scan_min) < 4 else f"{min(scan_min)}-{max(scan_min)}"
if name == "clean":
    print(f"{px:<8} {name:<9} {'':>12} {'':>12} {false:>16} {smin + ' px':>14}")
else:
    print(f"{px:<8} {name:<9} {f'{found} of {total}':>12} {f'{photos_found} of {photos}':>12} {false:>16} {smin + ' px':>14}")
EOF
  done
done
