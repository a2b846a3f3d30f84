#!/usr/bin/env bash
# kura train against the same network in Python (Debian's python3-torch), on
# the same data and thread count: opencv-doc's handwritten digits (4,000 to
# train, 1,000 to validate, 20x20 PNGs resized to 32x32 RGB), classify recipe.
#
#   bench/train.sh [--epochs N] [--threads "1 2"] [--reps N] [--no-install]
#
# Speed: whole processes, as a user waits for them (start-up, reading the
# data, decoding every PNG, training, validation, recording), timed with
# /usr/bin/time side by side in one run, alternately, at each thread count:
#   kura            kura train (AVX2 kernels pinned, the default)
#   py once         bench/train_torch.py: Pillow decodes each PNG once (the same
#                   work as kura and the same pixels), same CPU settings
#   py per-epoch    the same, but decoding the training PNGs again every epoch,
#                   as a torch Dataset without a cache does
#   py raw          no PNG decoding at all (pixels read from a raw file): the
#                   baseline of the earlier figures
#   kura native     kura train --cpu native, against py native: Python with
#                   libtorch's own kernel choice (no pin)
# Prints wall and CPU (user + sys) seconds of each (best of the reps), the
# ratios Python / kura (>= 1.0: kura is at least as fast; target 1.0x), the
# images/s of the training loops, validation accuracy (mean over the reps:
# one 5-epoch run swings by several points with the seed, on both sides) and
# peak memory. Never fails on a missed target. Environment: KURA (default
# build/kura), BENCH_DIR (default /tmp/kura-bench-train).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KURA=${KURA:-$ROOT/build/kura}
BENCH_DIR=${BENCH_DIR:-/tmp/kura-bench-train}
EPOCHS=5 THREADS="1 2" REPS=2 INSTALL=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --epochs) EPOCHS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    *) echo "usage: bench/train.sh [--epochs N] [--threads \"1 2\"] [--reps N] [--no-install]" >&2; exit 2 ;;
  esac
done
((INSTALL)) && "$ROOT/scripts/setup.sh" python3-torch python3-pil jq
[[ -x "$KURA" ]] || { echo "bench/train.sh: $KURA not built (scripts/build.sh)" >&2; exit 2; }
export KURA_AUTHOR_NAME=bench KURA_AUTHOR_EMAIL=bench@example.com
# The CPU settings kura pins by default; Python gets the same ones (py native: none).
PIN=(ATEN_CPU_CAPABILITY=avx2 DNNL_MAX_CPU_ISA=AVX2 OMP_WAIT_POLICY=passive)

rm -rf "$BENCH_DIR"
mkdir -p "$BENCH_DIR/repo"
vips rawsave /usr/share/doc/opencv-doc/examples/data/digits.png "$BENCH_DIR/digits.raw"
/usr/bin/python3 "$HERE/digits.py" "$BENCH_DIR/digits.raw" "$BENCH_DIR/repo" 400 100
cd "$BENCH_DIR/repo"
"$KURA" -q init
# Digits are grayscale and alike across files: format and integrity checks only.
echo '{"profile": "generic"}' >.kura/checks.json
"$KURA" -q add .
"$KURA" -q commit -m digits >/dev/null
echo "data: $(wc -l <train.jsonl) training and $(wc -l <validation.jsonl) validation digits (PNG); $EPOCHS epochs, threads: $THREADS; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- speed: whole processes side by side -----------------------------------
SIDES=(kura "py once" "py per-epoch" "py raw" "kura native" "py native")
declare -A WALL CPU IPS ACC RSS N
TIMES=$BENCH_DIR/time.txt

# timed SIDE THREADS SEED: runs one side under /usr/bin/time; sets wall, cpu, out.
timed() {
  local side=$1 t=$2 seed=$3
  case $side in
    kura) out=$(env "${PIN[@]}" /usr/bin/time -f "%e %U %S" -o "$TIMES" \
            "$KURA" -q train --json --threads "$t" --set epochs="$EPOCHS" --seed "$seed") ;;
    "kura native") out=$(env OMP_WAIT_POLICY=passive /usr/bin/time -f "%e %U %S" -o "$TIMES" \
            "$KURA" -q train --json --cpu native --threads "$t" --set epochs="$EPOCHS" --seed "$seed") ;;
    "py native") out=$(env OMP_WAIT_POLICY=passive /usr/bin/time -f "%e %U %S" -o "$TIMES" \
            /usr/bin/python3 "$HERE/train_torch.py" "$BENCH_DIR" "$EPOCHS" "$t" "$seed" --decode once) ;;
    py*) out=$(env "${PIN[@]}" /usr/bin/time -f "%e %U %S" -o "$TIMES" \
            /usr/bin/python3 "$HERE/train_torch.py" "$BENCH_DIR" "$EPOCHS" "$t" "$seed" --decode "${side#py }") ;;
  esac
  read -r wall user sys <"$TIMES"
  cpu=$(awk "BEGIN{print $user + $sys}")
}

for t in $THREADS; do
  for ((rep = 1; rep <= REPS; rep++)); do
    for side in "${SIDES[@]}"; do
      # Seeds differ per rep so each kura run is a new run, not a repeat.
      timed "$side" "$t" "$rep"
      if [[ $side == kura* ]]; then
        ips=$(jq -r '.summary.images_per_second' <<<"$out")
        acc=$(jq -r '.summary.validation_accuracy' <<<"$out")
        rss=$(jq -r '.summary.peak_rss_bytes' <<<"$out")
      else
        ips=$(jq -r '.images_per_second' <<<"$out")
        acc=$(jq -r '.validation_accuracy' <<<"$out")
        rss=$(jq -r '.peak_rss_bytes' <<<"$out")
      fi
      printf '%d thread(s) rep %d  %-13s %6.2f s wall %6.2f s CPU  %5.0f images/s  accuracy %.4f  peak %4d MB\n' \
        "$t" "$rep" "$side" "$wall" "$cpu" "$ips" "$acc" $((rss / 1000000))
      k="$t/$side"
      if [[ -z ${WALL[$k]:-} ]] || awk "BEGIN{exit !($wall < ${WALL[$k]})}"; then WALL[$k]=$wall; fi
      if [[ -z ${CPU[$k]:-} ]] || awk "BEGIN{exit !($cpu < ${CPU[$k]})}"; then CPU[$k]=$cpu; fi
      if [[ -z ${IPS[$k]:-} ]] || awk "BEGIN{exit !($ips > ${IPS[$k]})}"; then IPS[$k]=$ips; fi
      ACC[$k]=$(awk "BEGIN{print ${ACC[$k]:-0} + $acc}")
      RSS[$k]=$rss
    done
  done
  echo
  printf '%d thread(s), best of %d     %9s %9s %10s %9s %8s %6s\n' "$t" "$REPS" "wall s" "CPU s" "images/s" "accuracy" "peak MB" ""
  for side in "${SIDES[@]}"; do
    k="$t/$side"
    printf '  %-24s %9.2f %9.2f %10.0f %9.4f %8d\n' "$side" "${WALL[$k]}" "${CPU[$k]}" "${IPS[$k]}" \
      "$(awk "BEGIN{print ${ACC[$k]} / $REPS}")" $((RSS[$k] / 1000000))
  done
  for pair in "kura|py once" "kura|py per-epoch" "kura|py raw" "kura native|py native"; do
    a=${pair%|*} b=${pair#*|}
    awk -v a="$a" -v b="$b" -v kw="${WALL[$t/$a]}" -v pw="${WALL[$t/$b]}" -v kc="${CPU[$t/$a]}" -v pc="${CPU[$t/$b]}" 'BEGIN {
      printf "  %-12s vs %-13s wall %5.2fx  CPU %5.2fx  (Python / kura; target >= 1.0x)\n", a, b, pw / kw, pc / kc }'
  done
  awk -v a="${WALL[$t/kura]}" -v n="${WALL[$t/kura native]}" -v p="${WALL[$t/py once]}" -v q="${WALL[$t/py native]}" 'BEGIN {
    printf "  the AVX2 pin costs kura %+.0f%% and Python %+.0f%% of wall time (pinned / native - 1)\n", (a / n - 1) * 100, (p / q - 1) * 100 }'
  echo
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# The lora section: LoRA against full fine-tuning, a linear probe and
# training from scratch on one base (bench/train_lora.sh; docs/train.md).
echo
"$HERE/train_lora.sh" --threads "${THREADS##* }" --no-install  # the widest of the thread counts
