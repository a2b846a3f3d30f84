#!/usr/bin/env bash
# Installs what is missing, configures and builds kura.
#
#   scripts/build.sh [CMAKE_CONFIGURE_ARG...]
#
# Builds into $KURA_BUILD_DIR (default: build/ at the repository root); the
# binary is $KURA_BUILD_DIR/kura. Extra arguments go to the cmake configure
# step, e.g. `scripts/build.sh -DKURA_SANITIZE=ON`, as do those in $KURA_CMAKE_ARGS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${KURA_BUILD_DIR:-build}

scripts/setup.sh
# $KURA_CMAKE_ARGS (space-separated) come after the defaults, so they win.
# shellcheck disable=SC2086
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${KURA_CMAKE_ARGS:-} "$@"
cmake --build "$build_dir" -j2
