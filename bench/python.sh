#!/usr/bin/env bash
# kura for Python against reading the checked-out files by hand (issue 17's
# targets: iterating examples with their image bytes at least 0.8x the speed
# of json + base64 over the JSONL; a ChatImageDataset epoch no slower than a
# hand-written Dataset over the image files).
#
#   bench/python.sh            # BENCH_DIR (default /tmp/kura-bench) keeps the data between runs
#
# Data: the table benchmark's 20,000-row vision JSONL (bench/gen_jsonl.py,
# 10,000 small JPEGs inline), and 4,000 opencv-doc digits as PNG files named
# by rows (bench/digits.py). Each measurement is a whole python3 process,
# best of 3, run one after the other in this one run.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KURA=${KURA:-$ROOT/build/kura}
BENCH_DIR=${BENCH_DIR:-/tmp/kura-bench}
DATA=$BENCH_DIR/data
RUN=$BENCH_DIR/python
# Debian's interpreter, which the module is built for and which has torch.
PYTHON=${PYTHON:-/usr/bin/python3}
export PYTHONPATH=$ROOT/build/python${PYTHONPATH:+:$PYTHONPATH}
[ -x "$KURA" ] || { echo "python.sh: $KURA is not built (scripts/build.sh)" >&2; exit 2; }
"$PYTHON" -c 'import kura' 2>/dev/null || { echo "python.sh: the kura module is not built in $ROOT/build/python" >&2; exit 2; }

python3 "$HERE/gen_images.py" small "$DATA/small" >/dev/null
python3 "$HERE/gen_jsonl.py" "$DATA/small" "$DATA/jsonl" >/dev/null
mkdir -p "$RUN"
table=$RUN/table
if [ ! -f "$RUN/.table" ]; then
  rm -rf "$table" && mkdir -p "$table"
  cp "$DATA/jsonl/v00.jsonl" "$table/train.jsonl"
  (cd "$table" && "$KURA" -q init &&
    printf '%s\n' '{"profile": "generic", "detect_faces": false}' >kura-checks.json &&
    "$KURA" -q add . && "$KURA" -q commit -m table >/dev/null)
  touch "$RUN/.table"
fi
digits=$RUN/digits
if [ ! -f "$RUN/.digits" ]; then
  rm -rf "$digits" && mkdir -p "$digits"
  vips rawsave /usr/share/doc/opencv-doc/examples/data/digits.png "$RUN/digits.raw"
  python3 "$HERE/digits.py" "$RUN/digits.raw" "$digits" 400 100 >/dev/null
  (cd "$digits" && "$KURA" -q init && echo '{"profile": "generic"}' >kura-checks.json &&
    "$KURA" -q add . && "$KURA" -q commit -m digits >/dev/null)
  touch "$RUN/.digits"
fi

best() {  # best NAME CMD... : the best wall time of 3 runs, in seconds (stderr: with that run's CPU)
  local name=$1 t best= cpu= w u s
  shift
  for _ in 1 2 3; do
    t=$( { /usr/bin/time -f '%e %U %S' "$@" >/dev/null; } 2>&1 | tail -1)
    read -r w u s <<<"$t"
    if [ -z "$best" ] || awk "BEGIN{exit !($w < $best)}"; then best=$w cpu="$u user $s sys"; fi
  done
  printf '%-44s %6.2f s wall (%s)\n' "$name" "$best" "$cpu" >&2
  echo "$best"
}

rows=$(wc -l <"$table/train.jsonl")
echo "table: $rows rows, $(du -m "$table/train.jsonl" | cut -f1) MB; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
hand=$(best "json + base64 over the checked-out JSONL" "$PYTHON" -c '
import base64, json, sys
n = b = 0
for line in open(sys.argv[1]):
    row = json.loads(line)
    for m in row["messages"]:
        if isinstance(m["content"], list):
            for p in m["content"]:
                if p.get("type") == "image_url" and p["image_url"]["url"].startswith("data:"):
                    b += len(base64.b64decode(p["image_url"]["url"].split(",", 1)[1]))
    n += 1
print(n, b)' "$table/train.jsonl")
ours=$(best "kura.Repo.examples + Image.bytes()" "$PYTHON" -c '
import sys, kura
n = b = 0
for ex in kura.Repo(sys.argv[1]).examples("train.jsonl"):
    for img in ex.images:
        b += len(img.bytes())
    n += 1
print(n, b)' "$table")
echo "examples with image bytes: kura $(awk "BEGIN{printf \"%.2f\", $hand / $ours}")x the speed of json + base64 (target >= 0.8x)"

epoch_hand=$(best "hand-written Dataset over the files, 1 epoch" "$PYTHON" -c '
import json, os, sys, numpy as np, torch
from PIL import Image
root = sys.argv[1]
rows = [json.loads(l) for l in open(os.path.join(root, "train.jsonl"))]
items = [(r["messages"][0]["content"][1]["image_url"]["url"], r["messages"][1]["content"]) for r in rows]
labels = sorted({l for _, l in items}); index = {l: i for i, l in enumerate(labels)}
class D(torch.utils.data.Dataset):
    def __len__(self): return len(items)
    def __getitem__(self, i):
        p, l = items[i]
        x = np.asarray(Image.open(os.path.join(root, p)).convert("RGB").resize((20, 20)), dtype=np.uint8).copy()
        return torch.from_numpy(x).permute(2, 0, 1).float().div_(255), index[l]
n = sum(len(y) for _, y in torch.utils.data.DataLoader(D(), batch_size=64))
print(n)' "$digits")
epoch_ours=$(best "kura.torch.ChatImageDataset, 1 epoch" "$PYTHON" -c '
import sys, torch, kura
from kura.torch import ChatImageDataset
ds = ChatImageDataset(kura.Repo(sys.argv[1]), file="train.jsonl", size=20)
n = sum(len(y) for _, y in torch.utils.data.DataLoader(ds, batch_size=64))
print(n)' "$digits")
echo "ChatImageDataset epoch: $(awk "BEGIN{printf \"%.2f\", $epoch_ours / $epoch_hand}")x the time of the hand-written Dataset (target <= 1.0x)"
