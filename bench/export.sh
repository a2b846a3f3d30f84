#!/usr/bin/env bash
# kura export against cp of the same bytes (issue 13's target: at most 1.5x,
# memory flat in the row count).
#
#   bench/export.sh            # BENCH_DIR (default /tmp/kura-bench) keeps the data between runs
#   KURA_BEFORE=/path/to/older/kura bench/export.sh   # also that build's exports, in the same run
#
# Data: the table benchmark's 20,000-row vision JSONL (bench/gen_jsonl.py,
# 10,000 small JPEGs inline, each used by two rows), committed once; and a
# 40,000-row table made of it (the same rows again, each with a new example
# number: the same 10,000 images, each used by four rows), for memory against
# the row count. Then each command as a whole process under /usr/bin/time,
# best wall time of 3 (warm page cache), with that run's user and system CPU
# and the peak RSS of the three:
#   cp -r of the checked-out folder, with and without `sync -f` of the copy
#   kura export --format openai (inline)        -> the same bytes as the JSONL
#   kura export --format hf-imagefolder         -> 10,000 image files + metadata.jsonl
#   cp -r of that hf-imagefolder output, with and without `sync -f`
# kura export ends with a syncfs before it writes its manifest (a finished
# export is durable), so the like-for-like baseline is cp -r followed by
# `sync -f` (syncfs of the same file system); plain cp -r leaves its bytes in
# the page cache. Both ratios are printed.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KURA=${KURA:-$ROOT/build/kura}
KURA_BEFORE=${KURA_BEFORE:-}
BENCH_DIR=${BENCH_DIR:-/tmp/kura-bench}
DATA=$BENCH_DIR/data
RUN=$BENCH_DIR/export
[ -x "$KURA" ] || { echo "export.sh: $KURA is not built (scripts/build.sh)" >&2; exit 2; }

python3 "$HERE/gen_images.py" small "$DATA/small" >/dev/null
python3 "$HERE/gen_jsonl.py" "$DATA/small" "$DATA/jsonl" >/dev/null

# commit_table NAME FILE: a repository $RUN/NAME with FILE as train.jsonl, and
# its checked-out copy in $RUN/NAME-checkout.
commit_table() {
  local repo=$RUN/$1
  [ -f "$repo/.kura-bench-done" ] && return 0
  rm -rf "$repo" "$repo-checkout" && mkdir -p "$repo" "$repo-checkout"
  cp "$2" "$repo/train.jsonl"
  "$KURA" -q -C "$repo" init
  # Every check runs at this (one-time) commit, as a user's would; only the
  # profile is generic, the rows being synthetic.
  printf '%s\n' '{"profile": "generic"}' >"$repo/.kura/checks.json"
  "$KURA" -q -C "$repo" add .
  "$KURA" -q -C "$repo" commit -m bench >/dev/null
  cp "$repo/train.jsonl" "$repo-checkout/"
  touch "$repo/.kura-bench-done"
}
mkdir -p "$RUN"
[ -f "$RUN/rows40k.jsonl" ] || python3 - "$DATA/jsonl/v00.jsonl" "$RUN/rows40k.jsonl" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
with open(sys.argv[2] + ".tmp", "w") as out:
    for line in lines:
        out.write(line + "\n")
    for i, line in enumerate(lines):
        again = line.replace(" Example %d.\"" % i, " Example %d.\"" % (i + len(lines)))
        assert again != line, "example number not found in row %d" % i
        out.write(again + "\n")
import os
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
EOF
commit_table rows20k "$DATA/jsonl/v00.jsonl"
commit_table rows40k "$RUN/rows40k.jsonl"

# measure NAME CMD...: 3 runs, each writing the fresh folder $OUT (named by
# the command, a bash -c script) after a sync; prints the best wall time with that run's
# user and system CPU, and the highest peak RSS; sets $NAME to the best wall
# time. Outputs are deleted only at the end: ext4 avoids reusing inodes freed
# in the last 60 s (300 s while their table block is dirty), so creating
# 10,000 files just after deleting 10,000 took 3-4x the time, whichever
# program did it. Leave a few minutes between two runs of this script.
OUTS=$RUN/outputs-$$
measure() {
  local name=$1 best="" bu="" bs="" rss=0 i w u s r
  shift
  for i in 1 2 3; do
    export OUT=$OUTS/$rows-$name-$i  # read by the bash -c command when it starts
    mkdir -p "$OUTS"
    sync
    /usr/bin/time -f '%e %U %S %M' -o "$RUN/time.txt" "$@" >/dev/null
    read -r w u s r <"$RUN/time.txt"
    if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN {exit !(a < b)}'; then best=$w bu=$u bs=$s; fi
    [ "$r" -gt "$rss" ] && rss=$r
  done
  printf '%-30s %6.2f s wall %6.2f s user %5.2f s sys %8d KB peak RSS\n' "$name" "$best" "$bu" "$bs" "$rss"
  printf -v "$name" '%s' "$best"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for rows in 20k 40k; do
  repo=$RUN/rows$rows
  hf_src=$RUN/hf-src-$rows
  [ -f "$hf_src/metadata-done" ] || {
    rm -rf "$hf_src"
    "$KURA" -q -C "$repo" export --format hf-imagefolder "$hf_src" >/dev/null
    rm "$hf_src/kura-export.json" && touch "$hf_src/metadata-done"
  }
  echo "--- $rows rows, 10,000 images; $(du -sh "$repo-checkout" | cut -f1) checked out"
  export repo hf_src KURA KURA_BEFORE
  measure cp bash -c 'cp -r "$repo-checkout" "$OUT"'
  measure cp_sync bash -c 'cp -r "$repo-checkout" "$OUT" && sync -f "$OUT"'
  measure openai bash -c '"$KURA" -q -C "$repo" export --format openai "$OUT"'
  measure hf bash -c '"$KURA" -q -C "$repo" export --format hf-imagefolder "$OUT"'
  if [ -n "$KURA_BEFORE" ]; then
    measure openai_before bash -c '"$KURA_BEFORE" -q -C "$repo" export --format openai "$OUT"'
    measure hf_before bash -c '"$KURA_BEFORE" -q -C "$repo" export --format hf-imagefolder "$OUT"'
  fi
  measure cp_hf bash -c 'cp -r "$hf_src" "$OUT"'
  measure cp_hf_sync bash -c 'cp -r "$hf_src" "$OUT" && sync -f "$OUT"'
  cmp -s "$OUTS/$rows-openai-1/train.jsonl" "$repo-checkout/train.jsonl" && same="byte-identical to" || same="DIFFERS from"
  echo "openai train.jsonl is $same the committed file ($(stat -c %s "$OUTS/$rows-openai-1/train.jsonl") bytes)"
  "$KURA" -q -C "$repo" export --verify "$OUTS/$rows-openai-1" >/dev/null && echo "kura export --verify: ok"
  awk -v o="$openai" -v h="$hf" -v c="$cp" -v cs="$cp_sync" -v ch="$cp_hf" -v chs="$cp_hf_sync" 'BEGIN {
    printf "openai / cp -r + sync:                   %.2fx   (/ cp -r: %.2fx)\n", o / cs, o / c
    printf "hf-imagefolder / cp -r of it + sync:     %.2fx   (/ cp -r: %.2fx)\n", h / chs, h / ch }'
  [ -z "$KURA_BEFORE" ] || awk -v o="$openai_before" -v h="$hf_before" -v cs="$cp_sync" -v chs="$cp_hf_sync" 'BEGIN {
    printf "before: openai / cp -r + sync %.2fx, hf-imagefolder / cp -r of it + sync %.2fx\n", o / cs, h / chs }'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$OUTS"
