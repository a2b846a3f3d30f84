#!/usr/bin/env bash
# The long form of the crash suite: kill -9 at random instants of switch,
# checkout, commit, gc, push, merge, reset --hard and restore, TRIALS times
# each (default 100), and every write, fsync and rename of switch, checkout,
# commit, gc, merge, pull, reset and restore failed in turn. .ci/run runs the
# short form (12 kills per operation).
#
#   bench/kill.sh [TRIALS]
#
# Prints, per operation, the kills that landed mid-way, the runs that
# finished first, how often the next command had to repair something, and
# the failures (a failure is a test assertion: fsck not clean, status not
# truthful, a temporary left, a commit not byte-identical). Exit 1 on any failure.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=${KURA_BUILD_DIR:-$ROOT/build}
TRIALS=${1:-100}
case $TRIALS in -h|--help) sed -n '2,13p' "$0"; exit 0 ;; esac

[ -x "$BUILD/tests/kura_tests" ] || "$ROOT/scripts/build.sh" >/dev/null
status=0
while IFS= read -r name; do
  [ -n "$name" ] || continue
  start=$(date +%s%N)
  # Catch2 reads a ',' in a test spec as "or": escape it, as CTest does.
  out=$(KURA_KILL_TRIALS=$TRIALS "$BUILD/tests/kura_tests" --warn NoTests "${name//,/\\,}" 2>&1)
  rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  line=$(grep -m1 -E '^(kill|fault)-trials:' <<<"$out" | sed -E 's/^(kill|fault)-trials: //')
  failures=$(grep -oE '[0-9]+ assertions? in [0-9]+ test cases?|test cases?: [0-9]+ \| [0-9]+ passed \| [0-9]+ failed' <<<"$out" | tail -1)
  if [ $rc -eq 0 ]; then verdict=ok; else verdict=FAILED; status=1; fi
  printf '%-7s %6d ms  %s\n        %s %s\n' "$verdict" "$ms" "$name" "${line:-no report line}" "${failures:+($failures)}"
  [ $rc -eq 0 ] || grep -B2 -A12 'FAILED' <<<"$out" | head -40
done < <("$BUILD/tests/kura_tests" --list-test-names-only '[crash],[fault]' | grep -v '^$' | grep -v 'matching test cases')
exit $status
