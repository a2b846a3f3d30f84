#!/usr/bin/env bash
# kura merge benchmark: a 200,000-row vision JSONL edited on two branches, 1% of
# the rows on each side (relabels, deletions, insertions; disjoint rows), merged
# row by row (docs/merge.md).
#
#   bench/merge.sh [--rows N] [--reps N] [--image-every N]
#
# Prints the row-level merge alone (merge_rows and storing its result, from the
# test binary: target < 2 s), then the wall time, CPU time and peak memory of the whole
# `kura merge --no-verify` and `kura merge` (checks on), best of REPS runs, each
# in a fresh copy of the repository, with the merged file checked byte for byte
# against bench/gen_merge.py's expected.jsonl. Never fails on a missed target.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KURA=${KURA:-$ROOT/build/kura}
BENCH_DIR=${BENCH_DIR:-/tmp/kura-bench}
RUN=$BENCH_DIR/run/merge
LOGS=$BENCH_DIR/logs
ROWS=200000 REPS=3 EVERY=10

while [ $# -gt 0 ]; do
  case $1 in
    --rows) ROWS=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --image-every) EVERY=$2; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$KURA" ] || { echo "bench/merge.sh: $KURA is not built (scripts/build.sh)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || sudo apt-get install -y --no-install-recommends time
mkdir -p "$LOGS"
SET=$BENCH_DIR/data/merge-$ROWS-$EVERY
python3 "$HERE/gen_merge.py" "$SET" --rows "$ROWS" --image-every "$EVERY" || exit 1
echo "data: $(du -h "$SET/base.jsonl" | cut -f1) per version, $ROWS rows, 1% changed on each side; load: $(cut -d' ' -f1-3 /proc/loadavg)"

export KURA_AUTHOR_NAME=bench KURA_AUTHOR_EMAIL=bench@example.com
rm -rf "$RUN" && mkdir -p "$RUN/repo" && cd "$RUN/repo" || exit 1
k() { "$KURA" -q "$@" >>"$LOGS/merge-setup.log" 2>&1 || { echo "kura $* failed (see $LOGS/merge-setup.log)" >&2; exit 1; }; }
k init
cp "$SET/base.jsonl" train.jsonl && k add . && k commit --no-verify -m base
k switch -c theirs
cp "$SET/theirs.jsonl" train.jsonl && k add . && k commit --no-verify -m theirs
k switch main
cp "$SET/ours.jsonl" train.jsonl && k add . && k commit --no-verify -m ours
cd "$RUN" || exit 1

# run NAME FLAGS...: best of REPS merges, each in a fresh copy.
run() {
  local name=$1; shift
  local best="" peak=0 cpu=""
  for r in $(seq "$REPS"); do
    rm -rf "$RUN/copy" && cp -a "$RUN/repo" "$RUN/copy"
    local t0 t1 rc
    t0=$(date +%s.%N)
    (cd "$RUN/copy" && /usr/bin/time -v -o "$LOGS/$name.time" "$KURA" merge theirs "$@" >"$LOGS/$name.log" 2>&1)
    rc=$?
    t1=$(date +%s.%N)
    [ $rc -eq 0 ] || { echo "$name: kura merge exited $rc (see $LOGS/$name.log)"; return; }
    cmp -s "$RUN/copy/train.jsonl" "$SET/expected.jsonl" || { echo "$name: the merged file differs from expected.jsonl"; return; }
    local t; t=$(echo "$t1 - $t0" | bc)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then
      best=$t
      peak=$(awk '/Maximum resident/ {printf "%.0f", $6/1024}' "$LOGS/$name.time")
      cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f s user %.2f s sys", u, s}' "$LOGS/$name.time")
    fi
  done
  printf '%-34s %6.2f s wall (%s)  %5s MB peak  (merged file byte-identical to expected)\n' "$name" "$best" "$cpu" "$peak"
}
# The row-level merge alone (tests/repo/merge_bench_test.cpp, same shape of data).
TESTS=${KURA_TESTS:-$ROOT/build/tests/kura_tests}
if [ -x "$TESTS" ]; then
  for r in $(seq "$REPS"); do
    KURA_BENCH_ROWS=$ROWS "$TESTS" "[merge-bench]" 2>&1 | grep '^merge-bench:' || echo "merge-bench: the test failed (run $TESTS \"[merge-bench]\")"
  done
else
  echo "merge-bench: $TESTS is not built; the row-level merge alone is not timed"
fi
run "kura merge --no-verify" --no-verify
run "kura merge (checks on)"
echo "target: the row-level merge under 2 s (merge-bench total)"
