#!/usr/bin/env bash
# The lora section of bench/train.sh: fine-tuning a pinned base four ways on
# one data set, each a whole `kura train` process, one after the other.
# opencv-doc's digits: the small network is pretrained on the digits 0-4,
# exported as TorchScript, then trained on the digits 5-9 (PER_CLASS training
# and 100 validation images each, 20x20 upscaled to 32x32) with LoRA
# (kura's defaults), fully (every weight, from the base), as a linear probe
# (--freeze-base) and from scratch, for EPOCHS epochs each.
#
#   bench/train_lora.sh [--epochs N] [--threads N] [--per-class N] [--no-install]
#
# Prints for each: time per epoch (the training loop, mean over the epochs;
# LoRA's frozen prefix, computed once before the first epoch, is printed
# apart and counted in a second ratio),
# the whole process's wall, user and system time (decoding and start-up
# included), trainable parameters, peak memory and validation accuracy; then
# full fine-tuning's time per epoch over LoRA's (target >= 2x), LoRA's
# trainable share (target < 5%) and its accuracy against full fine-tuning
# (target within 2 points) and from scratch (target: better). Never fails
# on a missed target. Environment: KURA (default build/kura), BENCH_DIR
# (default /tmp/kura-bench-lora).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KURA=${KURA:-$ROOT/build/kura}
BENCH_DIR=${BENCH_DIR:-/tmp/kura-bench-lora}
EPOCHS=3 THREADS=2 PER_CLASS=300 INSTALL=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --epochs) EPOCHS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --per-class) PER_CLASS=$2; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    *) echo "usage: bench/train_lora.sh [--epochs N] [--threads N] [--per-class N] [--no-install]" >&2; exit 2 ;;
  esac
done
((INSTALL)) && "$ROOT/scripts/setup.sh" jq time
[[ -x "$KURA" ]] || { echo "bench/train_lora.sh: $KURA not built (scripts/build.sh)" >&2; exit 2; }
export KURA_AUTHOR_NAME=bench KURA_AUTHOR_EMAIL=bench@example.com

rm -rf "$BENCH_DIR"
mkdir -p "$BENCH_DIR/repo"
vips rawsave /usr/share/doc/opencv-doc/examples/data/digits.png "$BENCH_DIR/digits.raw"
/usr/bin/python3 "$HERE/digits.py" "$BENCH_DIR/digits.raw" "$BENCH_DIR/repo" "$PER_CLASS" 100
cd "$BENCH_DIR/repo"
cp train.jsonl "$BENCH_DIR/all-train.jsonl"
cp validation.jsonl "$BENCH_DIR/all-validation.jsonl"
keep() {  # keep DIGITS: the rows of those digits (a character class, e.g. 0-4)
  grep "\"content\": \"[$1]\"}" "$BENCH_DIR/all-train.jsonl" >train.jsonl
  grep "\"content\": \"[$1]\"}" "$BENCH_DIR/all-validation.jsonl" >validation.jsonl
}
"$KURA" -q init
echo '{"profile": "generic"}' >.kura/checks.json
keep 0-4
"$KURA" -q add .
"$KURA" -q commit -m "digits 0-4" >/dev/null
base=$("$KURA" -q train --json --threads "$THREADS" --set epochs=5 | jq -r .id)
"$KURA" -q export-model "$base" "$BENCH_DIR/base.pt" >/dev/null
keep 5-9
"$KURA" -q add .
"$KURA" -q commit -m "digits 5-9" >/dev/null
echo "lora: base pretrained 5 epochs on $(grep -c . "$BENCH_DIR/all-train.jsonl" | awk '{print $1 / 2}') images of 0-4;" \
  "$(wc -l <train.jsonl) training and $(wc -l <validation.jsonl) validation images of 5-9; $EPOCHS epochs," \
  "$THREADS threads, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

printf '%-14s %10s %8s %8s %8s %12s %8s %9s\n' "" "s/epoch" "wall s" "user s" "sys s" "trainable" "peak MB" "accuracy"
declare -A per_epoch accuracy trainable parameters
for way in lora full probe scratch; do
  case $way in
    lora) args=(--init "$BENCH_DIR/base.pt" --adapter lora) ;;
    full) args=(--init "$BENCH_DIR/base.pt") ;;
    probe) args=(--init "$BENCH_DIR/base.pt" --freeze-base) ;;
    scratch) args=() ;;
  esac
  /usr/bin/time -o "$BENCH_DIR/time" -f "%e %U %S" \
    "$KURA" -q train --json --threads "$THREADS" --set epochs="$EPOCHS" "${args[@]}" >"$BENCH_DIR/run.json"
  read -r wall user sys <"$BENCH_DIR/time"
  id=$(jq -r .id "$BENCH_DIR/run.json")
  [[ $way == lora ]] && prefix=$("$KURA" run show "$id" --log | sed -n 's/.*computed once (\([0-9.]*\) s).*/\1/p')
  per_epoch[$way]=$("$KURA" run show "$id" --json | jq '[.metrics_data.epochs[].seconds] | add / length')
  accuracy[$way]=$(jq .summary.validation_accuracy "$BENCH_DIR/run.json")
  trainable[$way]=$(jq .summary.trainable_parameters "$BENCH_DIR/run.json")
  parameters[$way]=$(jq .summary.parameters "$BENCH_DIR/run.json")
  printf '%-14s %10.3f %8.2f %8.2f %8.2f %12s %8d %9.4f\n' "$way" "${per_epoch[$way]}" "$wall" "$user" "$sys" \
    "${trainable[$way]}" $(($(jq .summary.peak_rss_bytes "$BENCH_DIR/run.json") / 1000000)) "${accuracy[$way]}"
done
awk -v l="${per_epoch[lora]}" -v pre="${prefix:-0}" -v e="$EPOCHS" -v f="${per_epoch[full]}" -v la="${accuracy[lora]}" -v fa="${accuracy[full]}" \
  -v sa="${accuracy[scratch]}" -v t="${trainable[lora]}" -v p="${parameters[full]}" 'BEGIN {
  printf "\nfull fine-tuning s/epoch over LoRA: %.2fx (target >= 2x)\n", f / l
  printf "with LoRA'"'"'s frozen prefix (%.2f s, once) spread over its %d epochs: %.2fx\n", pre, e, f / (l + pre / e)
  printf "LoRA trains %.1f%% of the parameters (target < 5%%)\n", 100 * t / p
  printf "LoRA accuracy %+.1f points against full fine-tuning (target within 2), %+.1f against from scratch (target > 0)\n", (la - fa) * 100, (la - sa) * 100
}'
