#!/usr/bin/env bash
# Precision and recall of dataset.leakage on sets built from Debian-shipped
# images (issue 14): the figures behind docs/checks.md's table.
#
#   bench/leakage.sh            # BENCH_DIR (default /tmp/kura-bench) holds the sets
#
# 1. Digits: opencv-doc's 5,000 handwritten digits (20x20), 4,000 in train,
#    1,000 distinct ones in validation (every report there is a false alarm),
#    plus copies of 100 training digits in validation (JPEG Q90, JPEG Q60,
#    brightened, a PNG of a JPEG, enlarged 2x): each should be reported,
#    naming its own training line.
# 2. Photos: the 91 JPEG/PNG images of opencv-doc's examples/data in train;
#    in validation, copies of each (JPEG Q60, half size, brighter, more
#    contrast, grey, PNG, crops keeping 96%, 92%, 88% of each side centred,
#    94% at a corner, 90% of the width only).
# 3. Distinct photos: the same 91 split in two halves (by name order), no
#    copies: every report is a pair of distinct files (the set holds stereo
#    pairs and consecutive frames, named in the output).
# Each set is checked by one `kura check --json` as a user runs it; the
# script prints, per kind, found / total and the false reports.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KURA=${KURA:-$ROOT/build/kura}
BENCH_DIR=${BENCH_DIR:-/tmp/kura-bench}
RUN=$BENCH_DIR/leakage
DATA=/usr/share/doc/opencv-doc/examples/data
[ -x "$KURA" ] || { echo "leakage.sh: $KURA is not built (scripts/build.sh)" >&2; exit 2; }
[ -f "$DATA/digits.png" ] || { echo "leakage.sh: $DATA/digits.png is missing (apt-get install opencv-doc)" >&2; exit 2; }
command -v vips >/dev/null || { echo "leakage.sh: the vips command is missing (apt-get install libvips-tools)" >&2; exit 2; }
rm -rf "$RUN" && mkdir -p "$RUN"

row() {  # row PATH LABEL
  printf '{"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"%s"}}]},{"role":"assistant","content":"%s"}]}\n' "$1" "$2"
}

# The report of one set: per kind (the label's prefix up to ':'), how many
# validation lines were reported and whether the training line named is the
# copy's source (the label after ':').
score() {  # score REPO TITLE
  local start=$(date +%s%N)
  (cd "$1" && "$KURA" check --json >report.json || true)
  echo "kura check --json of $(basename "$1"): $(( ($(date +%s%N) - start) / 1000000 )) ms"
  python3 - "$1" "$2" <<'EOF'
import json, re, sys, collections
repo, title = sys.argv[1], sys.argv[2]
report = json.load(open(repo + "/report.json"))
val = [json.loads(l) for l in open(repo + "/validation.jsonl")]
train = [json.loads(l) for l in open(repo + "/train.jsonl")]
label = lambda r: r["messages"][1]["content"]
found = {}
for f in report["findings"]:
    if f["rule"] != "dataset.leakage" or f["path"] != "validation.jsonl":
        continue
    m = re.search(r"train\.jsonl line (\d+)", f["message"])
    score = re.search(r"correlation ([0-9.]+)", f["message"])
    found[f["line"]] = (int(m.group(1)) if m else 0, score.group(1) if score else "1 (same bytes)")
total, hit, wrong = collections.Counter(), collections.Counter(), collections.Counter()
false = []
for i, r in enumerate(val, 1):
    kind, _, source = label(r).partition(":")
    total[kind] += 1
    if i not in found:
        continue
    named = label(train[found[i][0] - 1]) if found[i][0] else ""
    if kind == "distinct":
        false.append("%s ~ %s (correlation %s)" % (r["messages"][0]["content"][1]["image_url"]["url"],
                                                   train[found[i][0] - 1]["messages"][0]["content"][1]["image_url"]["url"], found[i][1]))
    elif named == "original:" + source:
        hit[kind] += 1
    else:
        wrong[kind] += 1
print("\n%s" % title)
print("| kind | in validation | reported | named another training image |")
print("| --- | ---: | ---: | ---: |")
for kind in total:
    print("| %s | %d | %d | %d |" % (kind, total[kind], hit[kind] + wrong[kind] + (len(false) if kind == "distinct" else 0), wrong[kind]))
for line in false[:20]:
    print("  false report: " + line)
EOF
}

# 1. Digits.
d=$RUN/digits && mkdir -p "$d"
vips rawsave "$DATA/digits.png" "$RUN/digits.raw"
python3 "$HERE/digits.py" "$RUN/digits.raw" "$d" 400 100 >/dev/null
(cd "$d" && "$KURA" -q init && echo '{"profile": "generic", "detect_faces": false}' >kura-checks.json)
python3 - "$d" <<'EOF'
import json, sys
d = sys.argv[1]
for name in ("train", "validation"):
    rows = [json.loads(l) for l in open("%s/%s.jsonl" % (d, name))]
    with open("%s/%s.jsonl" % (d, name), "w") as f:
        for r in rows:
            r["messages"][1]["content"] = ("original:" if name == "train" else "distinct:") + r["messages"][0]["content"][1]["image_url"]["url"]
            f.write(json.dumps(r) + "\n")
EOF
mkdir -p "$d/copies"
ls "$d"/digits/*/*.png | sort | awk 'NR % 40 == 1' | head -100 >"$RUN/digit-sources"
while read -r src; do
  rel=${src#"$d"/}
  # Only training digits: digits.py puts columns 0-79 of each row in train.
  grep -q "\"$rel\"" "$d/train.jsonl" || continue
  base=$(basename "$src" .png)-$(basename "$(dirname "$src")")
  vips copy "$src" "$d/copies/$base.q90.jpg[Q=90]"
  vips copy "$src" "$d/copies/$base.q60.jpg[Q=60]"
  vips linear "$src" "$d/copies/$base.bright.png" 0.9 20 --uchar
  vips copy "$src" "$RUN/tmp.jpg[Q=95]" && vips copy "$RUN/tmp.jpg" "$d/copies/$base.pngofjpeg.png"
  vips resize "$src" "$d/copies/$base.double.png" 2
  for kind in q90.jpg q60.jpg bright.png pngofjpeg.png double.png; do
    row "copies/$base.$kind" "${kind%.*}:$rel" >>"$d/validation.jsonl"
  done
done <"$RUN/digit-sources"
echo "digits: $(wc -l <"$d/train.jsonl") in train, $(wc -l <"$d/validation.jsonl") in validation"
score "$d" "Digits (20x20 handwritten, opencv-doc digits.png)"

# 2. Photos and their copies.
p=$RUN/photos && mkdir -p "$p/train" "$p/validation"
(cd "$p" && "$KURA" -q init && echo '{"profile": "generic", "detect_faces": false}' >kura-checks.json)
: >"$p/train.jsonl"
: >"$p/validation.jsonl"
for src in "$DATA"/*.jpg "$DATA"/*.png; do
  name=$(basename "$src")
  [ "$name" = digits.png ] && continue
  cp "$src" "$p/train/$name"
  row "train/$name" "original:$name" >>"$p/train.jsonl"
  w=$(vipsheader -f width "$src") h=$(vipsheader -f height "$src")
  v=$p/validation/$name
  vips copy "$src" "$v.q60.jpg[Q=60]"
  vips resize "$src" "$v.half.jpg[Q=85]" 0.5
  vips linear "$src" "$v.bright.jpg[Q=90]" 1 25 --uchar
  vips linear --uchar -- "$src" "$v.contrast.jpg[Q=90]" 1.3 -38
  vips colourspace "$src" "$v.grey.png" b-w
  vips copy "$src" "$v.png.png"
  for keep in 96 92 88; do
    vips crop "$src" "$v.crop$keep.jpg[Q=90]" $((w * (100 - keep) / 200)) $((h * (100 - keep) / 200)) $((w * keep / 100)) $((h * keep / 100))
  done
  vips crop "$src" "$v.corner94.jpg[Q=90]" 0 0 $((w * 94 / 100)) $((h * 94 / 100))
  vips crop "$src" "$v.width90.jpg[Q=90]" $((w * 5 / 100)) 0 $((w * 90 / 100)) "$h"
  for kind in q60.jpg half.jpg bright.jpg contrast.jpg grey.png png.png crop96.jpg crop92.jpg crop88.jpg corner94.jpg width90.jpg; do
    row "validation/$name.$kind" "${kind%.*}:$name" >>"$p/validation.jsonl"
  done
done
echo "photos: $(wc -l <"$p/train.jsonl") in train, $(wc -l <"$p/validation.jsonl") copies in validation"
score "$p" "Photos (opencv-doc examples/data) and their copies"

# 3. Distinct photos, two halves.
q=$RUN/distinct && mkdir -p "$q/images"
(cd "$q" && "$KURA" -q init && echo '{"profile": "generic", "detect_faces": false}' >kura-checks.json)
: >"$q/train.jsonl"
: >"$q/validation.jsonl"
n=0
for src in "$DATA"/*.jpg "$DATA"/*.png; do
  name=$(basename "$src")
  [ "$name" = digits.png ] && continue
  cp "$src" "$q/images/$name"
  if [ $((n++ % 2)) = 0 ]; then row "images/$name" "original:$name" >>"$q/train.jsonl"; else row "images/$name" "distinct:$name" >>"$q/validation.jsonl"; fi
done
score "$q" "Distinct photos (opencv-doc examples/data, alternate files in train and validation)"
