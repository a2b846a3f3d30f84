#!/usr/bin/env bash
# kura checkout benchmark: a version of FILES files (default 10,000 of 100 KB,
# 1 GB, incompressible) written into the working folder by `kura switch`,
# against `cp -r` of the same files (into a fresh folder, and right after
# deleting the previous copy, as each switch comes right after its files were
# deleted), and against `cp -r` followed by `sync`
# (kura's checkout is durable before it returns: the files are on disk before
# the index says they are clean). Whole processes, best of REPS, warm page
# cache on both sides, in one run. Never fails on a missed target (1.5x cp -r).
#
#   bench/checkout.sh [--files N] [--kb N] [--reps N]
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KURA=${KURA:-$ROOT/build/kura}
BENCH_DIR=${BENCH_DIR:-/tmp/kura-bench}
RUN=$BENCH_DIR/run/checkout
FILES=10000 KB=100 REPS=3

while [ $# -gt 0 ]; do
  case $1 in
    --files) FILES=$2; shift ;;
    --kb) KB=$2; shift ;;
    --reps) REPS=$2; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$KURA" ] || { echo "bench/checkout.sh: $KURA is not built (scripts/build.sh)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || sudo apt-get install -y --no-install-recommends time
export KURA_AUTHOR_NAME=bench KURA_AUTHOR_EMAIL=bench@example.com

rm -rf "$RUN" && mkdir -p "$RUN/repo" "$RUN/source"
python3 - "$RUN/source" "$FILES" "$KB" <<'EOF'
import os, sys
root, n, kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    d = os.path.join(root, "images", "%03d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "%05d.bin" % i), "wb") as f:
        f.write(os.urandom(kb * 1024))
EOF
cd "$RUN/repo" || exit 1
"$KURA" init >/dev/null
echo '{"profile": "generic"}' > kura-checks.json
echo "empty" > README
"$KURA" -q add . && "$KURA" -q commit -m "empty" >/dev/null
"$KURA" -q switch -c full >/dev/null
cp -r "$RUN/source/images" .
"$KURA" -q add . && "$KURA" -q commit --no-verify -m "full" >/dev/null
"$KURA" -q switch main >/dev/null
echo "$FILES files of $KB KB ($(du -sh "$RUN/source/images" | cut -f1)); load: $(cut -d' ' -f1-3 /proc/loadavg)"

best() {  # best NAME CMD...: the best wall time of REPS runs, each after PREP, with its CPU time
  local name=$1 t b="" cpu=""
  shift
  for ((i = 0; i < REPS; i++)); do
    eval "$PREP"
    /usr/bin/time -f "%e %U %S" -o "$RUN/time" "$@" >/dev/null 2>&1 || { echo "$name failed" >&2; return 1; }
    t=$(tail -1 "$RUN/time" | cut -d' ' -f1)
    if [ -z "$b" ] || awk -v a="$t" -v b="$b" 'BEGIN{exit !(a<b)}'; then
      b=$t
      cpu=$(tail -1 "$RUN/time" | awk '{printf "%5.2f s user %5.2f s sys", $2, $3}')
    fi
  done
  printf "%-28s %6.2f s wall  (%s)\n" "$name" "$b" "$cpu"
  eval "$name=$b"
}
# Reads of the source are warm for cp, as the store's are for kura.
cat "$RUN/source"/images/*/* >/dev/null
PREP='cd "$RUN/repo" && "$KURA" -q switch main >/dev/null; sync'
best kura_switch "$KURA" -q -C "$RUN/repo" switch full
# Each switch comes right after its 10,000 files were deleted (switch main
# removes them), and ext4 without a journal skips inodes freed in the last
# minutes, scanning past each (recently_deleted): cp -r is timed both ways.
# cp_r_fresh: into a new folder each time, nothing deleted just before (the
# only cp -r of main's version of this script that could be its best);
# cp_r: right after deleting the previous copy, as the switch.
PREP='sync'
mkdir -p "$RUN/fresh"
best cp_r_fresh sh -c 'cp -r "$2" "$(mktemp -d -p "$1")/images"' _ "$RUN/fresh" "$RUN/source/images"
rm -rf "$RUN/fresh"
cp -r "$RUN/source/images" "$RUN/copy"
PREP='rm -rf "$RUN/copy"; sync'
best cp_r cp -r "$RUN/source/images" "$RUN/copy"
best cp_r_sync sh -c "cp -r '$RUN/source/images' '$RUN/copy' && sync"
awk -v k="$kura_switch" -v f="$cp_r_fresh" -v c="$cp_r" -v s="$cp_r_sync" 'BEGIN {
  printf "ratio kura switch / cp -r fresh:  %.2fx (target 1.5x)\n", k / f
  printf "ratio kura switch / cp -r:        %.2fx (target 1.5x; both after deleting 10,000 files)\n", k / c
  printf "ratio kura switch / cp -r + sync: %.2fx\n", k / s
}'
