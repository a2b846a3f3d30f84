#!/usr/bin/env bash
# kura remote benchmark, against a throw-away Ceph RGW on loopback:
#   1. push of 10,000 JPEGs (~1 GB) to S3, against `rclone copy` of the same
#      folder to the same RGW (Debian's rclone; default settings and with as
#      many transfers as kura's connections);
#   2. a second push after changing 10 files (target: 10 objects, < 2 s);
#   3. clone of the pushed repository (throughput).
#
#   bench/remote.sh [--files N] [--no-install] [--keep]
#
# --files N uses the first N files of the data set (default: all 10,000).
# Environment: KURA (default build/kura), BENCH_DIR (default /tmp/kura-bench;
# the data set is shared with bench/core.sh), KURA_S3_PORT (default 27490).
# Prints figures and ratios with their targets; never fails on a missed target.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KURA=${KURA:-$ROOT/build/kura}
BENCH_DIR=${BENCH_DIR:-/tmp/kura-bench}
DATA=$BENCH_DIR/data
RUN=$BENCH_DIR/remote-run
FILES=10000 INSTALL=1 KEEP=0
while (($#)); do
  case "$1" in
    --files) FILES=$2; shift ;;
    --no-install) INSTALL=0 ;;
    --keep) KEEP=1 ;;
    *) echo "usage: bench/remote.sh [--files N] [--no-install] [--keep]" >&2; exit 2 ;;
  esac
  shift
done

export KURA_S3_DIR=${KURA_S3_DIR:-/tmp/kura-s3-bench}
export KURA_S3_PORT=${KURA_S3_PORT:-27490} KURA_S3_MONPORT=${KURA_S3_MONPORT:-26390} KURA_S3_MSPORT=${KURA_S3_MSPORT:-26900}
export KURA_AUTHOR_NAME=bench KURA_AUTHOR_EMAIL=bench@example.com

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
fmt() { printf "%.2f" "$1"; }
mbps() { echo "$1 / 1000000 / $2" | bc -l; }

if ((INSTALL)); then "$ROOT/scripts/setup.sh" ceph-mon ceph-osd radosgw curl rclone libvips-tools || exit 1; fi
[ -x "$KURA" ] || { echo "no kura binary at $KURA; run scripts/build.sh" >&2; exit 2; }
python3 "$HERE/gen_images.py" big "$DATA/jpegs" || exit 1

cleanup() {
  "$ROOT/scripts/ceph-s3.sh" down
  ((KEEP)) || rm -rf "$RUN"
}
trap cleanup EXIT
"$ROOT/scripts/ceph-s3.sh" up || exit 1
eval "$("$ROOT/scripts/ceph-s3.sh" env)"

rm -rf "$RUN" && mkdir -p "$RUN"
# Hard links: kura reads the files; changed files are replaced, never edited in place.
cp -al "$DATA/jpegs" "$RUN/src" || exit 1
find "$RUN/src" -type f | sort | tail -n +"$((FILES + 1))" | xargs -r rm -f
n=$(find "$RUN/src" -type f | wc -l)
bytes=$(du -sb --apparent-size "$RUN/src" | cut -f1)
echo "data: $n JPEGs, $(echo "$bytes / 1000000" | bc) MB; RGW (memstore) on 127.0.0.1:$KURA_S3_PORT; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"

cd "$RUN/src" || exit 1
"$KURA" init >/dev/null && "$KURA" add . >/dev/null && "$KURA" commit --no-verify -m "images" >/dev/null || exit 1
"$KURA" remote add s3 s3://kura-bench/set || exit 1

echo
echo "== 1. first push to S3 (kura: $("$KURA" remote --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["connections"])') connections)"
t0=$(now)
"$KURA" push s3 --json >"$RUN/push1.json" || exit 1
t_kura=$(secs "$t0" "$(now)")
sent=$(python3 -c 'import json; j=json.load(open("'"$RUN/push1.json"'")); print(j["objects_sent"], j["git_objects_sent"], j["bytes_sent"])')
echo "kura push:                      $(fmt "$t_kura") s  ($(fmt "$(mbps "$bytes" "$t_kura")") MB/s; objects, git objects, bytes sent: $sent)"

unset AWS_CA_BUNDLE
export RCLONE_CONFIG_RGW_TYPE=s3 RCLONE_CONFIG_RGW_PROVIDER=Ceph RCLONE_CONFIG_RGW_ENDPOINT=$AWS_ENDPOINT_URL \
  RCLONE_CONFIG_RGW_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
  RCLONE_CONFIG_RGW_REGION=$AWS_REGION RCLONE_CONFIG_RGW_FORCE_PATH_STYLE=true
best_rclone=0
for transfers in 4 16; do
  rclone mkdir "rgw:rclone-$transfers" >/dev/null 2>&1
  t0=$(now)
  rclone copy "$RUN/src" "rgw:rclone-$transfers/set" --exclude '.kura/**' --transfers "$transfers" --checkers 16 || echo "rclone failed" >&2
  t=$(secs "$t0" "$(now)")
  label="rclone copy --transfers $transfers:"
  [ "$transfers" = 4 ] && label="rclone copy (default, 4 transfers):"
  printf "%-31s %s s  (%s MB/s)\n" "$label" "$(fmt "$t")" "$(fmt "$(mbps "$bytes" "$t")")"
  if [ "$(echo "$best_rclone == 0 || $t < $best_rclone" | bc -l)" = 1 ]; then best_rclone=$t; fi
done
echo "throughput ratio kura / best rclone: $(fmt "$(echo "$best_rclone / $t_kura" | bc -l)")x  (target >= 1.00)"

echo
echo "== 2. second push after changing 10 files"
i=0
for f in $(find . -path ./.kura -prune -o -type f -name '*.jpg' -print | sort | head -n 10); do
  cat "$f" >"$f.new" && printf 'changed %d' "$i" >>"$f.new" && mv "$f.new" "$f"
  i=$((i + 1))
done
"$KURA" add . >/dev/null && "$KURA" commit --no-verify -m "ten changed" >/dev/null || exit 1
t0=$(now)
"$KURA" push s3 --json >"$RUN/push2.json" || exit 1
t2=$(secs "$t0" "$(now)")
read -r objs gits <<<"$(python3 -c 'import json; j=json.load(open("'"$RUN/push2.json"'")); print(j["objects_sent"], j["git_objects_sent"])')"
echo "kura push: $(fmt "$t2") s, $objs objects and $gits git objects sent  (target: 10 objects, < 2 s)"

echo
echo "== 3. clone from S3"
t0=$(now)
"$KURA" clone s3://kura-bench/set "$RUN/clone" --json >"$RUN/clone.json" || exit 1
t3=$(secs "$t0" "$(now)")
got=$(python3 -c 'import json; j=json.load(open("'"$RUN/clone.json"'")); print(j["objects_received"], j["bytes_received"], j["files_written"])')
read -r cobjs cbytes cfiles <<<"$got"
echo "kura clone: $(fmt "$t3") s  ($(fmt "$(mbps "$cbytes" "$t3")") MB/s; $cobjs objects, $cfiles files written)"
t0=$(now)
"$KURA" clone s3://kura-bench/set "$RUN/clone-nc" --no-checkout --json >/dev/null || exit 1
t4=$(secs "$t0" "$(now)")
echo "kura clone --no-checkout: $(fmt "$t4") s  ($(fmt "$(mbps "$cbytes" "$t4")") MB/s)"
t0=$(now)
rclone copy "rgw:rclone-16/set" "$RUN/rclone-down" --transfers 16 --checkers 16 || echo "rclone failed" >&2
t5=$(secs "$t0" "$(now)")
echo "rclone copy down (--transfers 16): $(fmt "$t5") s  ($(fmt "$(mbps "$bytes" "$t5")") MB/s)"
