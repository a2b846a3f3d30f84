#!/usr/bin/env bash
# The main job, end to end, on real sample data.
#
#   scripts/demo.sh [DIR]
#
# Installs what is missing, builds kura, then in DIR (default: a new temporary
# folder; if given it must be empty or not exist) makes a small vision
# fine-tuning dataset from the sample images Debian's opencv-doc package ships:
# images/<label>/*.jpg|png plus train.jsonl and validation.jsonl in the OpenAI
# chat format with the images inlined as base64 data URLs. It then versions the
# dataset with kura: init, add, commit, change it, commit again, look at the
# history, read a file of the first version back and check out the first version,
# comparing every file's SHA-256 with what was committed. The folder is left in
# place for you to explore.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
samples=/usr/share/doc/opencv-doc/examples/data

# --- presentation -----------------------------------------------------------
if [[ -t 1 ]]; then bold=$'\e[1m' cyan=$'\e[36m' green=$'\e[32m' off=$'\e[0m'
else bold='' cyan='' green='' off=''; fi
section() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$off"; }
note() { printf '\n%s# %s%s\n' "$cyan" "$*" "$off"; }
ok() { printf '%sOK%s %s\n' "$green" "$off" "$*"; }
die() { printf 'demo.sh: %s\n' "$*" >&2; exit 1; }
# Runs `kura ARGS...`, showing the command first as a user would type it.
run() {
  local shown=kura arg
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:~^=@+-]+$ ]]; then shown+=" $arg"; else shown+=" \"$arg\""; fi
  done
  printf '\n%s$ %s%s\n' "$cyan" "$shown" "$off"
  "$kura" "$@"
}

# --- the demo folder (checked before the long build) --------------------------
if [[ $# -ge 1 ]]; then
  work=$1
  mkdir -p "$work"
  [[ -z "$(ls -A "$work")" ]] || die "$work is not empty; give an empty or new folder"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/kura-demo.XXXXXX")
fi
work=$(cd "$work" && pwd)
# Checksum lists live beside the dataset, not in it, so kura does not see them.
sums=$(mktemp -d "${TMPDIR:-/tmp}/kura-demo-sums.XXXXXX")
trap 'rm -rf "$sums"' EXIT

# --- build --------------------------------------------------------------------
section "Setting up and building kura"
echo "(installs missing packages and compiles: a few minutes the first time)"
"$repo/scripts/build.sh" >/dev/null
build_dir=${KURA_BUILD_DIR:-build}
[[ "$build_dir" == /* ]] || build_dir="$repo/$build_dir"
kura="$build_dir/kura"
[[ -x "$kura" ]] || die "$kura was not built"
echo "built $kura"
cd "$work"

# --- the sample dataset -------------------------------------------------------
section "Making a sample dataset in $work"
[[ -d "$samples" ]] || die "$samples is missing; scripts/setup.sh installs opencv-doc"
declare -A label_of=(
  [apple.jpg]=fruit [orange.jpg]=fruit [fruits.jpg]=fruit
  [baboon.jpg]=animal [HappyFish.jpg]=animal [butterfly.jpg]=animal
  [squirrel_cls.jpg]=animal [chicky_512.png]=animal [messi5.jpg]=scene
  [building.jpg]=scene [home.jpg]=scene [aero1.jpg]=scene [leuvenA.jpg]=scene
  [LinuxLogo.jpg]=logo [WindowsLogo.jpg]=logo [opencv-logo.png]=logo
  [opencv-logo-white.png]=logo
  [board.jpg]=object [stuff.jpg]=object [box.png]=object [smarties.png]=object
)
# Row order: which image each row shows. Images listed twice are used by two
# rows (a second question about the same picture): kura stores them once.
train_images=(
  apple.jpg baboon.jpg building.jpg LinuxLogo.jpg board.jpg orange.jpg
  HappyFish.jpg home.jpg WindowsLogo.jpg stuff.jpg butterfly.jpg aero1.jpg
  opencv-logo.png box.png squirrel_cls.jpg apple.jpg baboon.jpg home.jpg messi5.jpg
)
validation_images=(
  fruits.jpg chicky_512.png leuvenA.jpg opencv-logo-white.png smarties.png board.jpg
)

system_prompt="You label images with one word: fruit, animal, scene, logo or object."
# Prints one chat-format row for images/<label>/<name>, asking `question`.
row() {
  local name=$1 question=$2 label=${label_of[$1]} mime
  case "$name" in
    *.png) mime=image/png ;;
    *) mime=image/jpeg ;;
  esac
  printf '{"messages":[{"role":"system","content":"%s"},' "$system_prompt"
  printf '{"role":"user","content":[{"type":"text","text":"%s"},' "$question"
  printf '{"type":"image_url","image_url":{"url":"data:%s;base64,%s"}}]},' \
    "$mime" "$(base64 -w0 "images/$label/$name")"
  printf '{"role":"assistant","content":"%s"}]}\n' "$label"
}
# Writes a JSONL file with one row per image; a repeated image gets a second question.
write_jsonl() {
  local out=$1 name
  shift
  local -A seen=()
  : >"$out"
  for name in "$@"; do
    if [[ -n "${seen[$name]:-}" ]]; then
      row "$name" "Which one word describes this picture?" >>"$out"
    else
      row "$name" "What is in this image?" >>"$out"
    fi
    seen[$name]=1
  done
}

for name in "${!label_of[@]}"; do
  mkdir -p "images/${label_of[$name]}"
  cp "$samples/$name" "images/${label_of[$name]}/$name"
done
# Real-world mistakes: one photo exported as CMYK (made here with libvips from
# fruits.jpg); box.png is grayscale as shipped; messi5.jpg shows a face; and
# board.jpg is in both the training and the validation file.
vips colourspace "$samples/fruits.jpg" images/fruit/fruits.jpg cmyk
write_jsonl train.jsonl "${train_images[@]}"
write_jsonl validation.jsonl "${validation_images[@]}"
echo "$(find images -type f | wc -l) images in $(find images -mindepth 1 -type d | wc -l) labels," \
  "$(wc -l <train.jsonl) training rows, $(wc -l <validation.jsonl) validation rows," \
  "$(du -sh . | cut -f1) in all"

# --- first version ------------------------------------------------------------
section "Version 1: start tracking the dataset; the checks stop a bad commit"
run init
run add .
run status
note 'every commit runs the checks; errors stop it (exit status 1) with a report'
status=0
run commit -m "first version" || status=$?
((status == 1)) || die "the commit of data with errors was not stopped (exit $status)"
ok "commit stopped by the checks, as it should be"
note 'only the errors of one rule; the exit status stays the whole report'"'"'s (1)'
status=0
run check --rule image.bad_color_mode --severity error || status=$?
((status == 1)) || die "a filtered check of data with errors did not exit 1 (exit $status)"
out=$("$kura" check --json --rule image.bad_color_mode) || true
image_id=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(next(f["object"] for f in r["findings"] if f.get("object")))' "$out")
note 'the image a finding names, by its id: what it is'
run show --info "${image_id:0:12}"

section "Fixing what the checks found"
note 'convert the CMYK and the grayscale image to sRGB (libvips), as the report says'
vips colourspace images/fruit/fruits.jpg images/fruit/fruits-srgb.jpg srgb
mv images/fruit/fruits-srgb.jpg images/fruit/fruits.jpg
vips colourspace images/object/box.png images/object/box-srgb.png srgb
mv images/object/box-srgb.png images/object/box.png
note 'validation must be unseen data: show a different picture in validation row 6'
validation_images[5]=aero3.jpg
label_of[aero3.jpg]=scene
cp "$samples/aero3.jpg" images/scene/
note 'faces are only a warning (the service skips such images): keep the photo out of training, in the policy file committed with the data'
printf '{"rules": {"moderation.face": "exclude"}}\n' >kura-checks.json
write_jsonl train.jsonl "${train_images[@]}"
write_jsonl validation.jsonl "${validation_images[@]}"
run check
run add .
run commit -m "first version"
find . -path ./.kura -prune -o -type f -print0 | sort -z | xargs -0 sha256sum >"$sums/v1"

# --- second version -----------------------------------------------------------
section "Changing the data"
# Row 5 of train.jsonl shows the circuit board: relabel it.
note 'relabel train.jsonl row 5 (board.jpg): object -> electronics'
sed -i '5s/"content":"object"}]}$/"content":"electronics"}]}/' train.jsonl
grep -q '"content":"electronics"' train.jsonl || die "relabelling row 5 failed"
note 'add images/art/starry_night.jpg and a training row that uses it'
mkdir -p images/art
cp "$samples/starry_night.jpg" images/art/
label_of[starry_night.jpg]=art
row starry_night.jpg "What is in this image?" >>train.jsonl
note 'delete images/object/stuff.jpg'
rm images/object/stuff.jpg

run status
run add .
run commit -m "second version"
find . -path ./.kura -prune -o -type f -print0 | sort -z | xargs -0 sha256sum >"$sums/v2"

# --- history ------------------------------------------------------------------
section "History"
run log
run ls-files

section "Reading the first version's train.jsonl back from the store"
v1_train=$(grep ' ./train.jsonl$' "$sums/v1" | cut -d' ' -f1)
printf '\n%s$ kura show HEAD~1:train.jsonl | sha256sum%s\n' "$cyan" "$off"
shown=$("$kura" show HEAD~1:train.jsonl | sha256sum | cut -d' ' -f1)
echo "$shown"
[[ "$shown" == "$v1_train" ]] || die "show gave $shown, version 1 was $v1_train"
ok "same SHA-256 as the train.jsonl committed in version 1"

# --- back to the first version and forward again ------------------------------
# Checks that the files outside .kura/ are exactly those of a checksum list.
same_as() {
  local list=$1 what=$2
  diff <(cut -d' ' -f3- "$list") \
    <(find . -path ./.kura -prune -o -type f -print | sort) >/dev/null ||
    die "the set of files differs from $what"
  sha256sum --check --quiet "$list" || die "file contents differ from $what"
  ok "$(wc -l <"$list") files byte-for-byte equal to $what (sha256sum)"
}

section "Checking out version 1"
run checkout HEAD~1
same_as "$sums/v1" "version 1"
run status

section "Back to main"
run switch main
same_as "$sums/v2" "version 2"

section "Verifying every stored object"
run fsck

# --- kura diff: the two versions row by row -----------------------------------
section "What changed between the versions, row by row (kura diff)"
note 'counts per file: examples added, removed, modified; images; sizes'
run diff HEAD~1 HEAD --stat
note 'the changed examples themselves: which message changed, a word diff, images by id and size (never base64)'
out=$("$kura" diff HEAD~1 HEAD -- train.jsonl) || die "kura diff failed"
printf '\n%s$ kura diff HEAD~1 HEAD -- train.jsonl%s\n%s\n' "$cyan" "$off" "$out"
grep -q -- '~ line 5 -> 5' <<<"$out" && grep -q 'electronics' <<<"$out" && grep -q -- '+ line 20' <<<"$out" ||
  die "kura diff did not show the relabelled row 5 and the added row 20"
[[ "$out" != *base64,/9j/* ]] || die "kura diff printed base64"
note 'label drift between the versions (the assistant answers)'
run diff HEAD~1 HEAD --stat --labels -- train.jsonl
ok "row 5 relabelled and row 20 added, shown as examples, not base64"
# --- remotes: push to a folder remote, clone it (docs/remotes.md) -------------
section "Sharing: pushing to a folder remote and cloning it"
share=$(mktemp -d "${TMPDIR:-/tmp}/kura-demo-share.XXXXXX")
run remote add origin "$share/dataset.kura"
run push origin
run clone "$share/dataset.kura" "$share/clone"
(cd "$share/clone" && same_as "$sums/v2" "version 2, in the clone")
run -C "$share/clone" fsck
echo "The remote is $share/dataset.kura, the clone $share/clone"
# --- training (docs/train.md) -----------------------------------------------------
section "Training on the committed data, and reproducing the run"
note 'a pinned run on HEAD (the checks exclude the photo with a face); 3 short epochs'
run train --set epochs=3 --threads 2
run_id=$("$kura" runs | head -1 | cut -d' ' -f1)
note 'the run id is the SHA-256 of its spec; re-train from it alone and compare the weights'
run reproduce "$run_id" | tee "$sums/reproduce"
grep -q '^identical ' "$sums/reproduce" || die "kura reproduce did not give identical weights"
ok "the same weights, bit for bit"

section "Fine-tuning with LoRA from the base trained above, and evaluating it against the base"
note 'the run above is the base: export it as TorchScript; kura stores it as an object and pins it by hash'
run export-model "$run_id" "$sums/base.pt"
note 'LoRA: the base frozen, low-rank adapters on its last stage'"'"'s convolutions (with that stage'"'"'s batch norm) and a new head trained; the output is the adapter'
run train --init "$sums/base.pt" --adapter lora --set epochs=3 --threads 2
lora_id=$("$kura" runs | head -1 | cut -d' ' -f1)
"$kura" run show "$lora_id" --log | grep 'adapter lora:' || die "the LoRA run's log does not say what it trained"
note 'kura eval: the adapter run, then the base model, on the validation data of HEAD (stored, computed once)'
run eval "$lora_id" --threads 2
run eval --model "$sums/base.pt" --threads 2
"$kura" eval "$lora_id" --threads 2 --json | python3 -c 'import json,sys; e=json.load(sys.stdin); assert e["reused"], e' ||
  die "the second kura eval of the LoRA run did not reuse its record"
ok "the LoRA run and its base evaluated on the same commit; the second eval reused the stored record"
note 'the base run and the LoRA run side by side: spec changes, scores and per-class F1 with deltas, evals, data diff'
run run diff "$run_id" "$lora_id" | tee "$sums/run-diff"
grep -q '^scores:' "$sums/run-diff" || die "kura run diff did not print the two runs' scores"

# --- Python (docs/python.md) ------------------------------------------------------
section "Training from Python on a pinned commit, recorded as a kura run"
note 'a PyTorch script reads HEAD through kura (no checkout), trains a tiny model and records the run'
python=/usr/bin/python3
PYTHONPATH="$build_dir/python" "$python" - "$work" <<'PY'
import sys
import torch
import kura
from kura.torch import ChatImageDataset, record_run

repo = kura.Repo(sys.argv[1])
ds = ChatImageDataset(repo, rev="HEAD", file="train.jsonl", size=32)
print("commit %s: %d examples, %d labels, %d excluded" % (ds.commit[:12], len(ds), len(ds.labels), ds.excluded))
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, len(ds.labels)))
opt = torch.optim.SGD(net.parameters(), lr=0.01)
epochs = []
for epoch in (1, 2):
    total = 0.0
    for x, y in torch.utils.data.DataLoader(ds, batch_size=4, shuffle=True):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        total += loss.item() * len(y)
    epochs.append({"epoch": epoch, "train_loss": total / len(ds)})
    print("epoch %d  train loss %.4f" % (epoch, epochs[-1]["train_loss"]))
run = record_run(ds, model="linear-32px", weights=net, settings={"lr": 0.01, "epochs": 2, "batch_size": 4}, metrics=epochs)
print("recorded run", run["id"][:12])
PY
run runs
"$kura" runs --json | python3 -c 'import json,sys; r=json.load(sys.stdin); assert any(x["spec"]["recipe"] == "external" for x in r), r' ||
  die "kura runs does not list the run the Python script recorded"
ok "the script's run is listed against the commit it read"

# --- export (docs/export.md) ----------------------------------------------------
section "Exporting the checked commit for a trainer, and proving where it came from"
exported=$(mktemp -d "${TMPDIR:-/tmp}/kura-demo-export.XXXXXX")
note 'LLaVA format from HEAD: the photo the checks exclude is left out and listed; images written once, by content'
run export --format llava "$exported/llava"
grep -q '"rule": "moderation.face"' "$exported/llava/kura-export.json" || die "the excluded example is not listed in the manifest"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d and all("conversations" in x for x in d)' \
  "$exported/llava/train.json" || die "train.json is not a LLaVA list"
note 'the folder is exactly what HEAD exports to: re-derived and compared file by file'
run export --verify "$exported/llava" --rev HEAD
note 'the export passes the llava profile'"'"'s checks (its row format, then the images), run in the export folder'
(cd "$exported/llava" && run check --profile llava train.json validation.json) ||
  die "the LLaVA export does not pass kura check --profile llava"
ok "the LLaVA export is clean for a LLaVA trainer"
note 'change one byte of an image: verify names the file'
victim=$(find "$exported/llava/images" -type f | sort | head -1)
printf 'x' | dd of="$victim" bs=1 seek=200 conv=notrunc 2>/dev/null
status=0
run export --verify "$exported/llava" || status=$?
((status == 1)) || die "kura export --verify did not notice a changed image (exit $status)"
ok "verify named the changed file"
echo "The export is in $exported/llava"

# --- curation: leave one example out by hand (docs/checks.md, Exclusions) -------
section "Leaving one example out by hand, in a tracked file"
note 'row 3 of train.jsonl is not wanted for training: exclude it, with a reason'
run exclude train.jsonl:3 --reason "too similar to row 2, keep one"
run exclude --list
run add kura-exclusions.jsonl
run commit -m "exclude train.jsonl row 3"
note 'the exclusion is a row of a tracked file: reviewable like any change'
run diff HEAD~1 HEAD -- kura-exclusions.jsonl
out=$("$kura" check --json --rev HEAD) || die "kura check of HEAD failed"
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["summary"]["excluded"] >= 1, r["summary"]' "$out" ||
  die "the check of HEAD does not count the excluded row"
ok "the exclusion is committed; check, train and export skip row 3"

# --- merge: two people edit rows of one file (docs/merge.md) --------------------
section "Working together: two branches edit different rows of train.jsonl, merged row by row"
run switch -c ann
note 'Ann relabels row 2'
sed -i '2s/"content":"\([a-z]*\)"}]}$/"content":"\1 (checked by Ann)"}]}/' train.jsonl
grep -q 'checked by Ann' train.jsonl || die "editing row 2 failed"
run add train.jsonl
run commit -m "Ann checks row 2"
run switch main
note 'meanwhile Bob relabels row 4 on main'
sed -i '4s/"content":"\([a-z]*\)"}]}$/"content":"\1 (checked by Bob)"}]}/' train.jsonl
grep -q 'checked by Bob' train.jsonl || die "editing row 4 failed"
run add train.jsonl
run commit -m "Bob checks row 4"
note 'git would see two edits of one file; kura merges the rows'
run merge ann -m "Merge Ann's checks"
sed -n 2p train.jsonl | grep -q 'checked by Ann' && sed -n 4p train.jsonl | grep -q 'checked by Bob' ||
  die "the merged train.jsonl does not hold both edits"
run log --graph --oneline -n 5
run fsck
ok "both edits are in the merged train.jsonl"

note "Bob's relabel was wrong: revert his commit; kura undoes that row only, Ann's edit stays"
run revert HEAD~1
sed -n 2p train.jsonl | grep -q 'checked by Ann' && ! grep -q 'checked by Bob' train.jsonl ||
  die "the revert did not undo row 4 alone"
run show --stat HEAD
run log --oneline -- train.jsonl
ok "row 4 is back as it was; row 2 keeps Ann's edit"

section "Done"
echo "The dataset and its .kura/ repository are in $work"
echo "Look at it in a web browser: $kura -C $work serve --open"
