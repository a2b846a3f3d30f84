#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test.
#
#   scripts/test.sh [CTEST_ARG...]
#
# Extra arguments go to ctest, e.g. `scripts/test.sh -R add` or `-L fast`.
# Uses $KURA_BUILD_DIR (default: build/). Exits non-zero if any step or test fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${KURA_BUILD_DIR:-build}

scripts/build.sh
ctest --test-dir "$build_dir" --output-on-failure -j2 "$@"
