#!/usr/bin/env bash
# kura export against cp of the same bytes (issue 13's target: at most 1.5x,
# memory flat in the row count).
#
#   bench/export.sh            # BENCH_DIR (default /tmp/kura-bench) keeps the data between runs
#
# Data: the table benchmark's 20,000-row vision JSONL (bench/gen_jsonl.py,
# 10,000 small JPEGs inline, each used by two rows), committed once. Then,
# each as a whole process under /usr/bin/time -v, best of 3 (warm page cache):
#   cp -r of the checked-out folder            (the baseline for openai)
#   kura export --format openai (inline)        -> same bytes as the JSONL
#   kura export --format hf-imagefolder         -> 10,000 image files + metadata.jsonl
#   cp -r of that hf-imagefolder output        (the baseline of the same files)
# and prints the seconds, the ratios and the peak RSS. kura export ends with a
# syncfs (the manifest seals a durable export); cp does not sync.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KURA=${KURA:-$ROOT/build/kura}
BENCH_DIR=${BENCH_DIR:-/tmp/kura-bench}
DATA=$BENCH_DIR/data
RUN=$BENCH_DIR/export
[ -x "$KURA" ] || { echo "export.sh: $KURA is not built (scripts/build.sh)" >&2; exit 2; }

python3 "$HERE/gen_images.py" small "$DATA/small" >/dev/null
python3 "$HERE/gen_jsonl.py" "$DATA/small" "$DATA/jsonl" >/dev/null

repo=$RUN/repo
if [ ! -f "$RUN/.committed" ]; then
  rm -rf "$RUN" && mkdir -p "$repo"
  cp "$DATA/jsonl/v00.jsonl" "$repo/train.jsonl"
  "$KURA" -q -C "$repo" init
  # Every check runs at this (one-time) commit, as a user's would; only the
  # profile is generic, the rows being synthetic.
  printf '%s\n' '{"profile": "generic"}' >"$repo/.kura/checks.json"
  "$KURA" -q -C "$repo" add .
  "$KURA" -q -C "$repo" commit -m bench
  mkdir -p "$RUN/checkout" && cp "$repo/train.jsonl" "$RUN/checkout/"
  touch "$RUN/.committed"
fi

# measure NAME OUT CMD...: best wall seconds of 3 runs and the peak RSS (KB), OUT removed before each.
measure() {
  local name=$1 out=$2 best="" rss=0 i t r
  shift 2
  for i in 1 2 3; do
    rm -rf "$out"
    sync
    /usr/bin/time -v -o "$RUN/time.txt" "$@" >/dev/null
    t=$(awk -F': ' '/Elapsed/ {n = split($2, p, ":"); s = 0; for (k = 1; k <= n; k++) s = s * 60 + p[k]; print s}' "$RUN/time.txt")
    r=$(awk -F': ' '/Maximum resident/ {print $2}' "$RUN/time.txt")
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN {exit !(a < b)}'; then best=$t; fi
    [ "$r" -gt "$rss" ] && rss=$r
  done
  printf '%-34s %8.2f s  %8d KB peak RSS\n' "$name" "$best" "$rss"
  eval "${name//[^a-z]/_}=$best"
}

echo "20,000 rows, 10,000 images; $(du -sh "$RUN/checkout" | cut -f1) checked out"
measure "cp_r_checkout" "$RUN/cp-out" cp -r "$RUN/checkout" "$RUN/cp-out"
measure "export_openai" "$RUN/openai" "$KURA" -q -C "$repo" export --format openai "$RUN/openai"
measure "export_hf" "$RUN/hf" "$KURA" -q -C "$repo" export --format hf-imagefolder "$RUN/hf"
"$KURA" -q -C "$repo" export --format hf-imagefolder "$RUN/hf-src" --force >/dev/null
rm -f "$RUN/hf-src/kura-export.json"
measure "cp_r_hf_output" "$RUN/cp-hf" cp -r "$RUN/hf-src" "$RUN/cp-hf"
cmp -s "$RUN/openai/train.jsonl" "$RUN/checkout/train.jsonl" && same="byte-identical to" || same="differs from"
echo "openai train.jsonl is $same the committed file ($(stat -c %s "$RUN/openai/train.jsonl") bytes)"
awk -v a="$export_openai" -v b="$cp_r_checkout" -v c="$export_hf" -v d="$cp_r_hf_output" 'BEGIN {
  printf "ratio openai / cp -r checkout:            %.2fx\n", a / b
  printf "ratio hf-imagefolder / cp -r checkout:    %.2fx\n", c / b
  printf "ratio hf-imagefolder / cp -r of its output: %.2fx\n", c / d }'
