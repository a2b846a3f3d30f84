#!/usr/bin/env bash
# The browser test of kura serve (CTest label `browser`): builds a small
# repository with the built kura, serves it on a free port and drives
# Debian's Chromium (headless) through it with puppeteer-core
# (serve_browser.cjs); a second server of it runs --read-only. The repository
# has two commits and a `kura train` run on each (1 and 2 epochs, ~5 s each).
# Screenshots go to BUILD_DIR/browser/screenshots/.
#
#   tests/browser/run.sh KURA_BINARY BUILD_DIR
#
# Installs what it needs, idempotently: chromium through scripts/setup.sh,
# puppeteer-core from the npm registry into BUILD_DIR/browser/ (no browser
# download). Exits 77 (CTest: skipped, and says why) only when the npm
# registry cannot be reached and puppeteer-core is not installed yet.
set -euo pipefail
kura=$(realpath "$1")
build=$(realpath "$2")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
work=$build/browser
mkdir -p "$work/screenshots"

"$src/scripts/setup.sh" chromium
# Node and npm: Debian's (nodejs npm) unless some are already on PATH.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  "$src/scripts/setup.sh" nodejs npm
fi
if [[ ! -f $work/node_modules/puppeteer-core/package.json ]]; then
  if ! (cd "$work" && npm install --no-audit --no-fund --silent puppeteer-core@24 >"$work/npm.log" 2>&1); then
    if grep -qiE "ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|network" "$work/npm.log"; then
      echo "browser test SKIPPED: the npm registry cannot be reached to install puppeteer-core ($work/npm.log)" >&2
      exit 77
    fi
    cat "$work/npm.log" >&2
    exit 2
  fi
fi

repo=$(mktemp -d /tmp/kura-browser-XXXXXX)
server_pid=
ro_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [[ -n $ro_pid ]]; then kill "$ro_pid" 2>/dev/null || true; wait "$ro_pid" 2>/dev/null || true; fi
  rm -rf "$repo"
}
trap cleanup EXIT

# 60 examples (two pages): photos, and a grey PNG every tenth line, which
# the checks report as image.bad_color_mode (a warning under this policy).
example() {  # line image mime label
  printf '{"messages":[{"role":"user","content":[{"type":"text","text":"What is in picture %s?"},{"type":"image_url","image_url":{"url":"data:%s;base64,%s"}}]},{"role":"assistant","content":"%s"}]}\n' \
    "$1" "$3" "$(base64 -w0 "$2")" "$4"
}
table() {  # label of line 2, image of line 2
  for i in $(seq 1 60); do
    if ((i % 10 == 4)); then example "$i" "$src/tests/check/data/grey.png" image/png grey
    elif ((i == 2)); then example "$i" "$2" image/jpeg "$1"
    elif ((i % 2)); then example "$i" "$src/tests/data/fish.jpg" image/jpeg fish
    else example "$i" "$src/tests/data/linux.jpg" image/jpeg linux
    fi
  done
}
export KURA_AUTHOR_NAME="Browser Test" KURA_AUTHOR_EMAIL=browser@example.com
(
  cd "$repo"
  "$kura" -q init >/dev/null
  printf '{"rules": {"image.bad_color_mode": "warn"}, "detect_faces": false}\n' >.kura/checks.json
  table linux "$src/tests/data/linux.jpg" >train.jsonl
  "$kura" add . >/dev/null
  "$kura" -q commit -m "sixty examples" >/dev/null
  table penguin "$src/tests/data/windows.jpg" >train.jsonl
  "$kura" add . >/dev/null
  "$kura" -q commit -m "line 2: another picture and label" >/dev/null
  # Two real runs for the runs page: one epoch on the first commit, two on the second.
  "$kura" -q train --rev HEAD~1 --threads 2 --set epochs=1 >/dev/null
  "$kura" -q train --threads 2 --set epochs=2 --seed 1 >/dev/null
)

"$kura" -C "$repo" serve --port 0 >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
# The same repository served --read-only, for the page without buttons.
"$kura" -C "$repo" serve --port 0 --read-only >"$work/serve-ro.out" 2>"$work/serve-ro.err" &
ro_pid=$!
address() {  # the address a server printed to file $1
  local u=
  for _ in $(seq 1 100); do
    u=$(grep -m1 '^http://' "$1" || true)
    [[ -n $u ]] && break
    sleep 0.1
  done
  if [[ -z $u ]]; then
    echo "kura serve printed no address:" >&2
    cat "$1" >&2
    exit 2
  fi
  echo "$u"
}
url=$(address "$work/serve.out")
ro_url=$(address "$work/serve-ro.out")

NODE_PATH=$work/node_modules node "$here/serve_browser.cjs" "$url" "$work/screenshots" "$kura" "$repo" "$ro_url"
