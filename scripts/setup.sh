#!/usr/bin/env bash
# Installs the Debian 12 packages kura needs to build, test and run its demo.
#
#   scripts/setup.sh [EXTRA_PACKAGE...]
#
# Idempotent: asks dpkg which packages are missing and does nothing (and prints
# nothing) when all are present. Only then runs `apt-get update` and installs the
# missing ones. Extra package names (e.g. `git-lfs git-annex` for bench/) are
# added to the list. Uses sudo when not run as root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libgit2-dev librocksdb-dev libvips-dev libvips-tools libpng-dev nlohmann-json3-dev
  libcli11-dev catch2 libssl-dev libcurl4-openssl-dev
  libtorch-dev libdlib-dev
  libgloo-dev # headers of libtorch's Gloo process group (data-parallel training)
  opencv-doc # sample images for scripts/demo.sh
  libcpp-httplib-dev libjs-chart.js # kura serve: HTTP server, charts (docs/serve.md)
  pybind11-dev python3-dev # the Python module (docs/python.md)
  python3-pytest python3-torch python3-numpy python3-pil # its tests and kura.torch
  "$@"
)

# One dpkg-query call for all packages; unknown names print nothing (stderr dropped).
installed=" $(dpkg-query -W -f='${Package}:${db:Status-Status} ' "${packages[@]}" 2>/dev/null || true) "
missing=()
for pkg in "${packages[@]}"; do
  if [[ "$installed" != *" $pkg:installed "* ]]; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=()
if ((EUID != 0)); then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "setup.sh: missing packages: ${missing[*]}; run as root or install sudo" >&2
    exit 2
  fi
  sudo=(sudo)
fi

echo "setup.sh: installing ${missing[*]}" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
