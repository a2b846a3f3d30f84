#!/usr/bin/env bash
# kura diff benchmark: two versions of a 200,000-row vision JSONL that differ
# in 1% of the rows (uniformly spread), committed in kura and in plain git.
#
#   bench/diff.sh [--rows N] [--reps N] [--no-git]
#
# Prints the wall time and peak memory of `kura diff --stat` (target < 0.5 s)
# and of the full `kura diff --json` (target < 2 s; cold: image facts not yet
# cached, warm: a second run), and `git diff --stat` of the same two files with
# the ratio. See bench/README.md. Never fails on a missed target.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KURA=${KURA:-$ROOT/build/kura}
BENCH_DIR=${BENCH_DIR:-/tmp/kura-bench}
DATA=$BENCH_DIR/data
RUN=$BENCH_DIR/run/diff
LOGS=$BENCH_DIR/logs
ROWS=200000 REPS=3 DO_GIT=1

while [ $# -gt 0 ]; do
  case $1 in
    --rows) ROWS=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --no-git) DO_GIT=0 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$KURA" ] || { echo "bench/diff.sh: $KURA is not built (scripts/build.sh)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || sudo apt-get install -y --no-install-recommends time
mkdir -p "$DATA" "$LOGS"

# --- data ---------------------------------------------------------------------
if [ ! -f "$DATA/small.complete" ]; then
  echo "making small JPEGs (bench/gen_images.py small, a few minutes once)"
  python3 "$HERE/gen_images.py" small "$DATA/small" || exit 1
fi
SET=$DATA/diff-$ROWS
python3 "$HERE/gen_diff.py" "$DATA/small" "$SET" --rows "$ROWS" || exit 1
echo "data: $(du -h "$SET/v1.jsonl" | cut -f1) per version, $ROWS rows, 1% changed; load: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- helpers -------------------------------------------------------------------
LAST=0 PEAK=0
# timed NAME CMD...: runs CMD under /usr/bin/time -v; sets LAST (s) and PEAK (MB).
timed() {
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$LOGS/$name.time" "$@" >"$LOGS/$name.log" 2>&1
  local rc=$?
  t1=$(date +%s.%N)
  LAST=$(echo "$t1 - $t0" | bc)
  PEAK=$(awk '/Maximum resident/ {printf "%.0f", $6/1024}' "$LOGS/$name.time")
  return $rc
}
# best NAME REPS CMD...: best wall time of REPS runs; peak of the best run.
best() {
  local name=$1 reps=$2; shift 2
  local b="" bp=0 i
  for ((i = 1; i <= reps; i++)); do
    timed "$name" "$@" || { echo "  $name failed: see $LOGS/$name.log"; return 1; }
    if [ -z "$b" ] || (( $(echo "$LAST < $b" | bc) )); then b=$LAST bp=$PEAK; fi
  done
  LAST=$b PEAK=$bp
}
verdict() { if (( $(echo "$1 < $2" | bc) )); then echo "yes"; else echo "NO"; fi; }

# --- kura ---------------------------------------------------------------------
rm -rf "$RUN" && mkdir -p "$RUN/kura"
cd "$RUN/kura"
"$KURA" init >/dev/null
cp "$SET/v1.jsonl" train.jsonl
timed kura-add-v1 "$KURA" add train.jsonl; add1=$LAST
"$KURA" commit --no-verify -m v1 >/dev/null
cp "$SET/v2.jsonl" train.jsonl
timed kura-add-v2 "$KURA" add train.jsonl; add2=$LAST
"$KURA" commit --no-verify -m v2 >/dev/null
echo "kura: add v1 ${add1}s, add v2 ${add2}s (not part of the diff figures)"

printf '\n%-44s %9s %9s  %s\n' "step" "seconds" "peak MB" "target"
row() { printf '%-44s %9.3f %9s  %s\n' "$1" "$2" "$3" "$4"; }

best kura-stat "$REPS" "$KURA" diff --stat HEAD~1 HEAD
stat_s=$LAST; row "kura diff --stat HEAD~1 HEAD (best of $REPS)" "$stat_s" "$PEAK" "< 0.5 s: $(verdict "$stat_s" 0.5)"
grep -E "files? changed" "$LOGS/kura-stat.log" | sed 's/^/    /'

timed kura-json-cold "$KURA" diff --json HEAD~1 HEAD
cold=$LAST; row "kura diff --json HEAD~1 HEAD (cold)" "$cold" "$PEAK" "< 2 s: $(verdict "$cold" 2)"
best kura-json "$REPS" "$KURA" diff --json HEAD~1 HEAD
warm=$LAST; row "kura diff --json HEAD~1 HEAD (warm, best of $REPS)" "$warm" "$PEAK" "< 2 s: $(verdict "$warm" 2)"
python3 - "$LOGS/kura-json.log" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["files"][0]["stat"]
print(f"    rows +{s['added']} -{s['removed']} ~{s['modified']} moved {s['moved']}, images +{s['images_added']} -{s['images_removed']}; "
      f"chunks skipped {s['chunks_skipped']}, rows read {s['rows_read']} of {s['old_rows'] + s['new_rows']}; "
      f"{len(r['files'][0]['rows'])} row changes in the report ({len(open(sys.argv[1]).read()) / 1e6:.1f} MB of JSON); "
      f"images decoded in the last run: {r['images_inspected']}")
PY
best kura-key "$REPS" "$KURA" diff --stat --key /id HEAD~1 HEAD
row "kura diff --stat --key /id (best of $REPS)" "$LAST" "$PEAK" "(info)"
cp "$SET/v1.jsonl" train.jsonl
"$KURA" add train.jsonl >/dev/null  # the working folder's stat cache now knows the file
best kura-work "$REPS" "$KURA" diff --stat HEAD
row "kura diff --stat HEAD (working folder = v1)" "$LAST" "$PEAK" "(info)"
best kura-labels 1 "$KURA" diff --stat --labels HEAD~1 HEAD
row "kura diff --stat --labels HEAD~1 HEAD" "$LAST" "$PEAK" "(info: reads every row)"

# --- git ----------------------------------------------------------------------
if [ "$DO_GIT" = 1 ]; then
  mkdir -p "$RUN/git" && cd "$RUN/git"
  git init -q . && git config user.email b@example.com && git config user.name bench
  cp "$SET/v1.jsonl" train.jsonl && git add train.jsonl && git commit -qm v1
  cp "$SET/v2.jsonl" train.jsonl && git add train.jsonl && git commit -qm v2
  best git-stat "$REPS" git diff --stat HEAD~1 HEAD
  git_s=$LAST
  row "git diff --stat HEAD~1 HEAD (best of $REPS)" "$git_s" "$PEAK" "(reference)"
  sed 's/^/    /' "$LOGS/git-stat.log"
  best git-full 1 git diff HEAD~1 HEAD
  row "git diff HEAD~1 HEAD (full, best of 1)" "$LAST" "$PEAK" "(reference; $(du -h "$LOGS/git-full.log" | cut -f1) of output)"
  echo
  echo "ratio git diff --stat / kura diff --stat: $(echo "scale=1; $git_s / $stat_s" | bc)x"
fi
echo "logs: $LOGS/kura-*.log, *.time"
