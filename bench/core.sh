#!/usr/bin/env bash
# kura core benchmark: first commit of 10,000 JPEGs against a copy+hash floor,
# git-lfs and git-annex; `kura status` on an unchanged tree; one-file commits
# in a 100,000-file folder; storage of 11 versions of a 20,000-row vision JSONL.
#
#   bench/core.sh [options] [section...]
#
# sections: gen files status many jsonl checks all (default: all). See bench/README.md.
# Prints figures and ratios with their targets; never fails on a missed target.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KURA=${KURA:-$ROOT/build/kura}
BENCH_DIR=${BENCH_DIR:-/tmp/kura-bench}
DATA=$BENCH_DIR/data
RUN=$BENCH_DIR/run
LOGS=$BENCH_DIR/logs
KURA_ADD_FLAGS=${KURA_ADD_FLAGS:---json}

INSTALL=1 DO_LFS=1 DO_ANNEX=1 DO_GIT=1 KEEP=0 ANNEX_UNBORN=0 DO_CHECKS=1
REPS=${REPS:-3}
SECTIONS=()

usage() {
  cat <<EOF
usage: bench/core.sh [options] [section...]

sections (default: all, in this order):
  gen     only generate the data sets (reused on later runs)
  files   10,000 JPEGs (~1 GB): floor, kura, git-lfs, git-annex first commit
  status  kura status on those 10,000 unchanged files, best of 5
  many    100,000 small files in one folder: one-file add + commit, vs git
  jsonl   20,000-row vision JSONL, 10 versions changing 1% each: store size
  checks  plain 'kura commit' with the commit-time checks on (2,000 JPEGs, JSONL)
  all     all of the above (checks only if kura has them; --no-checks skips)

options:
  --no-install   do not apt-get install the tools
  --no-lfs       skip git-lfs        --no-annex   skip git-annex
  --no-git       skip git, git-lfs and git-annex comparisons
  --keep         keep the work folders under \$BENCH_DIR/run afterwards
  --reps N       runs of the floor and of kura in 'files' (best counts; default 3)
  --annex-unborn run git-annex without the initial empty commit (much slower)
  --no-checks    leave out the 'checks' section from 'all'
environment: KURA (default build/kura), BENCH_DIR (default /tmp/kura-bench),
             KURA_ADD_FLAGS (default --json), KURA_COMMIT_FLAGS (default
             --no-verify when kura has it: the core sections time the store,
             not the checks; the 'checks' section times commits with checks)
EOF
}

while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --no-install) INSTALL=0 ;;
    --no-lfs) DO_LFS=0 ;;
    --no-annex) DO_ANNEX=0 ;;
    --no-git) DO_GIT=0 DO_LFS=0 DO_ANNEX=0 ;;
    --keep) KEEP=1 ;;
    --annex-unborn) ANNEX_UNBORN=1 ;;
    --no-checks) DO_CHECKS=0 ;;
    --reps) REPS=$2; shift ;;
    gen|files|status|many|jsonl|checks) SECTIONS+=("$1") ;;
    all) SECTIONS+=(gen files status many jsonl auto_checks) ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[ ${#SECTIONS[@]} -eq 0 ] && SECTIONS=(gen files status many jsonl auto_checks)

mkdir -p "$DATA" "$RUN" "$LOGS"

# The core sections measure storing and committing; kura's commit-time checks
# (image facts, faces, JSONL rules) are measured apart, in section 'checks'.
if [ -z "${KURA_COMMIT_FLAGS+set}" ]; then
  KURA_COMMIT_FLAGS=""
  if [ -x "$KURA" ] && "$KURA" commit --help 2>/dev/null | grep -q -- '--no-verify'; then
    KURA_COMMIT_FLAGS="--no-verify"
  fi
fi

# ---------------------------------------------------------------- helpers
SUMMARY=()   # "measure|value|target|met"

say() { printf '%s\n' "$*"; }
header() { say ""; say "== $*"; say "   (load average now: $(cut -d' ' -f1-3 /proc/loadavg); other work on the machine skews timings)"; }

# add a summary row: measure value target(expression like "<=1.3" or "") unit
result() {
  local what=$1 val=$2 target=${3:-} unit=${4:-} met=""
  if [ -n "$target" ] && [ "$val" != "n/a" ]; then
    local op=${target%%[0-9.]*} num=${target#"${target%%[0-9.]*}"}
    met=$(awk -v v="$val" -v n="$num" -v op="$op" 'BEGIN{
      r = (op=="<=") ? v<=n : (op=="<") ? v<n : (op==">=") ? v>=n : (op==">") ? v>n : 0;
      print r ? "yes" : "NO" }')
  fi
  SUMMARY+=("$what|$val${unit:+ $unit}|$target|$met")
}

# ratio A B -> A/B with 2 decimals, n/a if either is missing
ratio() {
  awk -v a="${1:-}" -v b="${2:-}" 'BEGIN{
    if (a=="" || b=="" || a=="n/a" || b=="n/a" || b+0==0) print "n/a";
    else printf "%.2f", a/b }'
}
# best A B -> the smaller, ignoring n/a unless both are
best() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a=="n/a") print b; else if (b=="n/a") print a; else print (b+0<a+0) ? b : a }'; }
sum() { awk 'BEGIN{s=0; for (i=1;i<ARGC;i++) { if (ARGV[i]=="n/a") { print "n/a"; exit } s+=ARGV[i] } printf "%.3f", s}' "$@"; }
mb() { awk -v b="$1" 'BEGIN{printf "%.1f", b/1048576}'; }
dusize() { if [ -e "$1" ]; then du -sb "$1" | cut -f1; else echo 0; fi; }

# timed NAME CMD... : run CMD in the current folder under /usr/bin/time -v,
# output in $LOGS/NAME.log. Sets T (wall s, from date +%s.%N), CPU (user+sys s),
# RSS (peak resident MB of the largest process), WR (MB written to the file
# system, from the kernel's block-output count), RC. T is "n/a" on failure.
timed() {
  local name=$1; shift
  local log=$LOGS/$name.log tf=$LOGS/$name.time t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$tf" "$@" >"$log" 2>&1
  RC=$?
  t1=$(date +%s.%N)
  T=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
  CPU=$(awk -F': ' '/User time/{u=$2} /System time/{s=$2} END{printf "%.2f", u+s}' "$tf")
  RSS=$(awk -F': ' '/Maximum resident set size/{printf "%.0f", $2/1024}' "$tf")
  WR=$(awk -F': ' '/File system outputs/{printf "%.1f", $2*512/1048576}' "$tf")
  if [ "$RC" -ne 0 ]; then
    say "   !! FAILED (exit $RC) after ${T}s: $* (in $PWD)"
    tail -n 8 "$log" | sed 's/^/   | /'
    T=n/a
  fi
}

# step NAME CMD... : timed + one line of output; adds T to TOTAL
step() {
  local name=$1; shift
  timed "$name" "$@"
  local label=${LABEL:-$*}
  label=${label//"$KURA"/kura}
  printf '   %-34s %8s s   cpu %7s s   peak %5s MB   wrote %7s MB\n' \
    "$label" "$T" "$CPU" "$RSS" "$WR"
  TOTAL=$(sum "$TOTAL" "$T")
}

# best of N runs of CMD (wall seconds); sets BEST and MEDIAN
best_of() {
  local n=$1 name=$2; shift 2
  local ts=() i
  for ((i = 1; i <= n; i++)); do
    timed "$name.$i" "$@"
    ts+=("$T")
  done
  BEST=$(printf '%s\n' "${ts[@]}" | awk '$1=="n/a"{bad=1} {print}' | sort -g | head -1)
  MEDIAN=$(printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  printf '%s\n' "${ts[@]}" | grep -q n/a && BEST=n/a MEDIAN=n/a
  ALL="${ts[*]}"
}

have_kura() {
  if [ -x "$KURA" ]; then return 0; fi
  say "   (kura binary not found at $KURA: kura steps skipped; build it with scripts/build.sh or set KURA)"
  return 1
}

# fresh DIR SRC : DIR/ds becomes a fresh copy of SRC (not timed), then sync
fresh() {
  rm -rf "$1"
  mkdir -p "$1"
  cp -r "$2" "$1/ds"
  sync
}

# warm SRC : read every file once so all tools start from the same warm cache
warm() { find "$1" -type f -exec cat {} + >/dev/null; }

# git identity and quiet defaults, without touching the user's own config
export GIT_CONFIG_GLOBAL=$BENCH_DIR/gitconfig
cat >"$GIT_CONFIG_GLOBAL" <<EOF
[user]
	name = kura bench
	email = bench@example.invalid
[init]
	defaultBranch = main
[advice]
	detachedHead = false
[annex]
	autocommit = false
EOF

install_tools() {
  [ "$INSTALL" -eq 1 ] || return 0
  local pkgs=(git-lfs git-annex libvips-tools time) missing=()
  command -v openssl >/dev/null || pkgs+=(openssl)
  command -v python3 >/dev/null || pkgs+=(python3)
  for p in "${pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null \
    || { say "apt-get install failed"; exit 1; }
}

# ---------------------------------------------------------------- data
gen_big() {
  python3 "$HERE/gen_images.py" big "$DATA/jpegs" || exit 1
}
gen_small() {
  python3 "$HERE/gen_images.py" small "$DATA/small" || exit 1
  python3 "$HERE/gen_jsonl.py" "$DATA/small" "$DATA/jsonl" || exit 1
}
gen_many() {
  python3 "$HERE/gen_many.py" "$DATA/many" --count 100000 --size 100 || exit 1
}

sec_gen() {
  header "data sets (generated once under $DATA, then reused)"
  local t0; t0=$(date +%s)
  gen_big; gen_many; gen_small
  say "   data ready in $(( $(date +%s) - t0 )) s"
}

# ---------------------------------------------------------------- 2. files
sec_files() {
  gen_big
  local src=$DATA/jpegs nfiles bytes
  nfiles=$(find "$src" -type f -name '*.jpg' | wc -l)
  bytes=$(du -sb --apparent-size "$src" | cut -f1)
  header "2. first commit of $nfiles JPEGs, $(mb "$bytes") MB in $(find "$src" -mindepth 1 -type d | wc -l) folders"
  say "   warm page cache for every run (caches cannot be dropped here); each tool works on"
  say "   its own fresh copy of the folder, made before its timer starts; no run includes a final sync"
  warm "$src"

  # floor and kura are short, so each is run $REPS times (fresh copy each
  # time) and the best run counts; git-lfs and git-annex run once.
  local floor=n/a k_total=n/a lfs_total=n/a annex_total=n/a r
  say "   floor (cp -r + openssl dgst -sha256 of every file, one after the other), best of $REPS:"
  for ((r = 1; r <= REPS; r++)); do
    rm -rf "$RUN/floor"; mkdir -p "$RUN/floor"; sync
    cd "$RUN/floor" || exit 1
    TOTAL=0
    LABEL="cp -r data copy; openssl dgst" step "floor.$r" bash -c "cp -r '$src' copy && find '$src' -type f -exec openssl dgst -sha256 {} + >/dev/null"
    floor=$(best "$floor" "$TOTAL")
    cd "$BENCH_DIR"; rm -rf "$RUN/floor"
  done
  say "      floor: $floor s"

  if have_kura; then
    say "   kura (init, add $KURA_ADD_FLAGS ., commit $KURA_COMMIT_FLAGS), best of $REPS:"
    for ((r = 1; r <= REPS; r++)); do
      fresh "$RUN/kura" "$src"
      cd "$RUN/kura/ds" || exit 1
      TOTAL=0
      step "kura.init.$r" "$KURA" init
      step "kura.add.$r" "$KURA" add $KURA_ADD_FLAGS .
      [ "$r" -eq 1 ] && say "      add output: $(tr -s ' \n' ' ' <"$LOGS/kura.add.1.log" | cut -c1-300)"
      step "kura.commit.$r" "$KURA" commit $KURA_COMMIT_FLAGS -m x
      k_total=$(best "$k_total" "$TOTAL")
      say "      run $r: $TOTAL s"
      cd "$BENCH_DIR"
    done
    cd "$RUN/kura/ds" || exit 1
    local ks; ks=$(dusize .kura)
    say "      kura: $k_total s; .kura holds $(mb "$ks") MB ($(ratio "$ks" "$bytes") x the data)"
    timed kura.sync sync; say "      (a sync after the last run took $T s)"
    cd "$BENCH_DIR"
  fi

  if [ "$DO_LFS" -eq 1 ]; then
    fresh "$RUN/lfs" "$src"
    cd "$RUN/lfs/ds" || exit 1
    TOTAL=0
    say "   git-lfs:"
    step lfs.init git init -q
    step lfs.install git lfs install --local
    step lfs.track git lfs track '*.jpg'
    step lfs.add git add .
    step lfs.commit git commit -q -m x
    lfs_total=$TOTAL
    say "      total ${lfs_total} s; .git holds $(mb "$(dusize .git)") MB"
    timed lfs.sync sync; say "      (a sync after it took $T s)"
    cd "$BENCH_DIR"
  fi

  if [ "$DO_ANNEX" -eq 1 ]; then
    fresh "$RUN/annex" "$src"
    cd "$RUN/annex/ds" || exit 1
    TOTAL=0
    say "   git-annex:"
    step annex.init git init -q
    step annex.annexinit git annex init -q
    # git-annex 10.20230126 runs `git symbolic-ref HEAD` and `git show-ref` for
    # EVERY file while the branch is unborn (about 3x slower here); one empty
    # commit first avoids that. --annex-unborn measures the plain sequence.
    [ "$ANNEX_UNBORN" -eq 1 ] || step annex.emptycommit git commit -q --allow-empty -m init
    step annex.add git annex add -q .
    step annex.commit git commit -q -m x
    annex_total=$TOTAL
    say "      total ${annex_total} s; .git holds $(mb "$(dusize .git)") MB"
    timed annex.sync sync; say "      (a sync after it took $T s)"
    cd "$BENCH_DIR"
  fi

  say "   ratios: kura/floor $(ratio "$k_total" "$floor")   lfs/kura $(ratio "$lfs_total" "$k_total")   annex/kura $(ratio "$annex_total" "$k_total")"
  result "floor: cp -r + sha256, 10k JPEGs" "$floor" "" s
  result "kura init+add+commit, 10k JPEGs" "$k_total" "" s
  result "git-lfs init..commit, 10k JPEGs" "$lfs_total" "" s
  result "git-annex init..commit, 10k JPEGs" "$annex_total" "" s
  result "kura / floor" "$(ratio "$k_total" "$floor")" "<=1.3"
  result "git-lfs / kura" "$(ratio "$lfs_total" "$k_total")" ">=5"
  result "git-annex / kura" "$(ratio "$annex_total" "$k_total")" ">=3"
}

# ---------------------------------------------------------------- 3. status
sec_status() {
  header "3. kura status, 10,000 unchanged JPEGs (best of 5)"
  if ! have_kura; then result "kura status, 10k unchanged (best of 5)" n/a "<0.2" s; return; fi
  gen_big
  if [ ! -d "$RUN/kura/ds/.kura" ]; then
    say "   (no committed copy from section 'files': making one, not timed)"
    fresh "$RUN/kura" "$DATA/jpegs"
    (cd "$RUN/kura/ds" && "$KURA" init >/dev/null && "$KURA" add . >/dev/null && "$KURA" commit $KURA_COMMIT_FLAGS -m x >/dev/null) \
      || say "   !! could not make the committed copy"
  fi
  cd "$RUN/kura/ds" || exit 1
  best_of 5 kura.status "$KURA" status
  say "   kura status: best $BEST s, median $MEDIAN s  (runs: $ALL)"
  say "      output: $(head -c 300 "$LOGS/kura.status.1.log" | tr -s ' \n' ' ')"
  result "kura status, 10k unchanged (best of 5)" "$BEST" "<0.2" s
  if [ -d "$RUN/lfs/ds/.git" ]; then
    cd "$RUN/lfs/ds" && best_of 5 git.status git status --porcelain
    say "   for reference, git status in the git-lfs copy: best $BEST s"
    result "  (git status, git-lfs copy, best of 5)" "$BEST" "" s
  fi
  cd "$BENCH_DIR"
}

# ---------------------------------------------------------------- 4. many
change_file() {  # rewrite a file with different content of the same size
  python3 - "$1" "$2" <<'EOF'
import sys
p, tag = sys.argv[1], sys.argv[2]
n = len(open(p, "rb").read())
open(p, "w").write((f"changed {tag} " + "x" * n)[: n - 1] + "\n")
EOF
}

sec_many() {
  gen_many
  local src=$DATA/many n
  n=$(find "$src" -maxdepth 1 -type f | wc -l)
  header "4. $n files of 100 bytes in ONE folder: change one file, commit"
  warm "$src"
  local k_one=n/a k_two=n/a g_one=n/a
  if have_kura; then
    fresh "$RUN/many-kura" "$src"
    cd "$RUN/many-kura/ds" || exit 1
    TOTAL=0
    say "   kura, first commit:"
    step many.kura.init "$KURA" init
    step many.kura.add "$KURA" add $KURA_ADD_FLAGS .
    say "      add output: $(tr -s ' \n' ' ' <"$LOGS/many.kura.add.log" | cut -c1-300)"
    step many.kura.commit "$KURA" commit $KURA_COMMIT_FLAGS -m all
    say "      total $TOTAL s; .kura holds $(mb "$(dusize .kura)") MB"
    result "kura first commit, 100k small files" "$TOTAL" "" s

    say "   kura, one file changed, added by name:"
    change_file f50000.txt one
    TOTAL=0
    step many.kura.add1 "$KURA" add $KURA_ADD_FLAGS f50000.txt
    local t_add1=$T before after
    before=$(dusize .kura)
    step many.kura.commit1 "$KURA" commit $KURA_COMMIT_FLAGS -m one
    after=$(dusize .kura)
    k_one=$T
    say "      .kura grew by $(( after - before )) bytes in that commit"
    result "kura add FILE, 1 of 100k changed" "$t_add1" "" s
    result "kura commit, 1 of 100k changed (add FILE)" "$k_one" "<0.5" s

    say "   kura, another file changed, added with 'add .':"
    change_file f70000.txt two
    step many.kura.add2 "$KURA" add $KURA_ADD_FLAGS .
    say "      add output: $(tr -s ' \n' ' ' <"$LOGS/many.kura.add2.log" | cut -c1-300)"
    result "kura add ., 1 of 100k changed" "$T" "" s
    before=$(dusize .kura)
    step many.kura.commit2 "$KURA" commit $KURA_COMMIT_FLAGS -m two
    after=$(dusize .kura)
    k_two=$T
    say "      .kura grew by $(( after - before )) bytes in that commit"
    result "kura commit, 1 of 100k changed (add .)" "$k_two" "<0.5" s
    best_of 3 many.kura.status "$KURA" status
    say "   kura status, 100k unchanged: best $BEST s (runs: $ALL)"
    result "kura status, 100k unchanged (best of 3)" "$BEST" "" s
    cd "$BENCH_DIR"
  fi
  if [ "$DO_GIT" -eq 1 ]; then
    fresh "$RUN/many-git" "$src"
    cd "$RUN/many-git/ds" || exit 1
    TOTAL=0
    say "   git, for comparison:"
    step many.git.init git init -q
    step many.git.add git add .
    step many.git.commit git commit -q -m all
    result "  (git first commit, 100k small files)" "$TOTAL" "" s
    change_file f50000.txt one
    step many.git.add1 git add f50000.txt
    local before after
    before=$(dusize .git)
    step many.git.commit1 git commit -q -m one
    after=$(dusize .git)
    g_one=$T
    say "      .git grew by $(( after - before )) bytes in that commit (one tree of $n entries rewritten)"
    result "  (git commit, 1 of 100k changed)" "$g_one" "" s
    cd "$BENCH_DIR"
  fi
  say "   kura commit / git commit (one file changed): $(ratio "$k_one" "$g_one")"
}

# ---------------------------------------------------------------- 5. jsonl
sec_jsonl() {
  gen_small
  local jd=$DATA/jsonl one v sizes=0 f
  one=$(stat -c %s "$jd/v00.jsonl")
  for f in "$jd"/v*.jsonl; do sizes=$(( sizes + $(stat -c %s "$f") )); done
  local nver; nver=$(ls "$jd"/v*.jsonl | wc -l)
  local nimg imgbytes
  nimg=$(awk '$1=="images"{print $2}' "$jd/stats.txt")
  imgbytes=$(awk '$1=="image_bytes"{print $2}' "$jd/stats.txt")
  header "5. vision JSONL: 20,000 rows, $nver versions (each changes 1% of rows), store size"
  say "   one copy of the JSONL: $(mb "$one") MB; $nimg distinct images over all versions, $(mb "$imgbytes") MB as JPEG files"
  if have_kura; then
    rm -rf "$RUN/jsonl"; mkdir -p "$RUN/jsonl/ds"
    cd "$RUN/jsonl/ds" || exit 1
    TOTAL=0
    timed jsonl.init "$KURA" init
    say "   kura init: $T s; commits: kura commit $KURA_COMMIT_FLAGS"
    printf '   %-8s %9s %9s %8s %9s\n' version "add s" "commit s" "peak MB" "store MB"
    local addsum=0 comsum=0
    for f in "$jd"/v*.jsonl; do
      v=$(basename "$f" .jsonl)
      cp "$f" train.jsonl; sync
      timed "jsonl.add.$v" "$KURA" add $KURA_ADD_FLAGS train.jsonl
      local ta=$T rss=$RSS
      timed "jsonl.commit.$v" "$KURA" commit $KURA_COMMIT_FLAGS -m "$v"
      local tc=$T
      addsum=$(sum "$addsum" "$ta"); comsum=$(sum "$comsum" "$tc")
      printf '   %-8s %9s %9s %8s %9s\n' "$v" "$ta" "$tc" "$rss" "$(mb "$(dusize .kura/store)")"
    done
    say "      first add output: $(tr -s ' \n' ' ' <"$LOGS/jsonl.add.v00.log" | cut -c1-300)"
    local store all
    store=$(dusize .kura/store)
    all=$(dusize .kura)
    [ -e .kura/store ] || say "   !! .kura/store does not exist; using all of .kura"
    [ -e .kura/store ] || store=$all
    say "   after $nver commits: .kura/store $(mb "$store") MB, all of .kura $(mb "$all") MB"
    say "   .kura/store / one JSONL copy: $(ratio "$store" "$one")   (all of .kura: $(ratio "$all" "$one"))"
    # the store must give every version back byte for byte
    local first last back
    first=$(ls "$jd"/v*.jsonl | head -1); last=$(ls "$jd"/v*.jsonl | tail -1)
    for back in "HEAD~$((nver - 1)):$first" "HEAD:$last"; do
      timed jsonl.show bash -c "'$KURA' show '${back%%:*}:train.jsonl' | sha256sum | cut -d' ' -f1 > '$LOGS/jsonl.show.sha'"
      if [ "$(cat "$LOGS/jsonl.show.sha")" = "$(sha256sum "${back#*:}" | cut -d' ' -f1)" ]; then
        say "   kura show ${back%%:*}:train.jsonl gives back $(basename "${back#*:}") exactly ($T s)"
      else
        say "   !! kura show ${back%%:*}:train.jsonl differs from $(basename "${back#*:}") ($T s)"
        result "  (!! show ${back%%:*}:train.jsonl differs)" "n/a" ""
      fi
    done
    result "kura add+commit, $nver JSONL versions" "$(sum "$addsum" "$comsum")" "" s
    result "kura .kura/store after $nver versions" "$(mb "$store")" "" MB
    result ".kura/store / one JSONL copy" "$(ratio "$store" "$one")" "<=0.6"
    cd "$BENCH_DIR"
  else
    result ".kura/store / one JSONL copy" n/a "<=0.6"
  fi
  say "   git-lfs stores every version whole: $(mb "$sizes") MB ($(ratio "$sizes" "$one") x one copy)"
  result "  (git-lfs objects, $nver versions)" "$(mb "$sizes")" "" MB
  result "  (git-lfs objects / one JSONL copy)" "$(ratio "$sizes" "$one")" ""
}

# ---------------------------------------------------------------- checks
sec_auto_checks() {
  [ "$DO_CHECKS" -eq 1 ] || return 0
  [ -x "$KURA" ] && "$KURA" commit --help 2>/dev/null | grep -q -- '--no-verify' || return 0
  sec_checks
}

sec_checks() {
  header "6. commit-time checks: plain 'kura commit' (checks on), first and cached"
  if ! have_kura; then return; fi
  gen_big; gen_small
  # 2,000 of the JPEGs (d00, d01): checks run at ~15-25 images/s here, so
  # all 10,000 would take 7-11 minutes; the figure for 10,000 is extrapolated.
  local n=2000
  rm -rf "$RUN/checks"; mkdir -p "$RUN/checks/ds"
  cp -r "$DATA/jpegs/d00" "$DATA/jpegs/d01" "$RUN/checks/ds/"; sync
  cd "$RUN/checks/ds" || exit 1
  "$KURA" init >/dev/null && "$KURA" add . >/dev/null || say "   !! init/add failed"
  say "   $n JPEGs (400x400, folders d00 d01), staged beforehand (not timed):"
  TOTAL=0
  step checks.jpegs "$KURA" commit -m x
  local tj=$T
  say "      output: $(tail -c 300 "$LOGS/checks.jpegs.log" | tr -s ' \n' ' ')"
  local ips; ips=$(awk -v n=$n -v t="$tj" 'BEGIN{ if (t=="n/a") print "n/a"; else printf "%.1f", n/t }')
  say "      $ips images/s; all 10,000 JPEGs would take about $(ratio 10000 "$ips") s"
  result "kura commit with checks, 2k JPEGs" "$tj" "" s
  result "  checks throughput, 400x400 JPEGs" "$ips" "" "images/s"
  result "  (10k JPEGs with checks, extrapolated)" "$(ratio 10000 "$ips")" "" s
  cp "$DATA/small/s00000.jpg" d01/img_01500.jpg   # another real JPEG
  "$KURA" add . >/dev/null
  step checks.jpegs.again "$KURA" commit -m again
  say "      (one file changed: the other results come from the check cache)"
  result "kura commit with checks, 1 of 2k changed" "$T" "" s
  cd "$BENCH_DIR"; rm -rf "$RUN/checks"

  local jd=$DATA/jsonl
  rm -rf "$RUN/checks-jsonl"; mkdir -p "$RUN/checks-jsonl/ds"
  cd "$RUN/checks-jsonl/ds" || exit 1
  "$KURA" init >/dev/null || say "   !! kura init failed"
  say "   vision JSONL, 20,000 rows / 10,000 images (80-128 px):"
  cp "$jd/v00.jsonl" train.jsonl; "$KURA" add train.jsonl >/dev/null
  step checks.jsonl.v00 "$KURA" commit -m v00
  result "kura commit with checks, JSONL v00" "$T" "" s
  say "      output: $(tail -c 300 "$LOGS/checks.jsonl.v00.log" | tr -s ' \n' ' ')"
  cp "$jd/v01.jsonl" train.jsonl; "$KURA" add train.jsonl >/dev/null
  step checks.jsonl.v01 "$KURA" commit -m v01
  result "kura commit with checks, JSONL v01 (1% changed)" "$T" "" s
  say "      .kura/store after both: $(mb "$(dusize .kura/store)") MB"
  cd "$BENCH_DIR"
}

# ---------------------------------------------------------------- main
install_tools
say "kura core benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
say "kura: $KURA $( [ -x "$KURA" ] && echo "($(stat -c %y "$KURA" | cut -d. -f1))" || echo "(missing)")"
say "work dir: $BENCH_DIR"
[ -n "$KURA_COMMIT_FLAGS" ] && say "core sections commit with: kura commit $KURA_COMMIT_FLAGS (checks are timed in section 'checks')"
START=$(date +%s)
for s in "${SECTIONS[@]}"; do "sec_$s"; done

header "summary"
{
  printf 'measure|value|target|met\n'
  printf '%s\n' "${SUMMARY[@]}"
} | column -t -s '|' | sed 's/^/   /'
say "   (targets are goals, not checks: this script does not fail on them)"
say "   whole run: $(( $(date +%s) - START )) s; logs in $LOGS"
if [ "$KEEP" -eq 0 ]; then rm -rf "$RUN"; fi
