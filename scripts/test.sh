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

# The S3 remote tests (CTest label s3) run against a throw-away Ceph RGW on
# loopback, torn down on exit; they are skipped, saying so, only when the
# Ceph packages cannot be installed here.
s3_args=()
if scripts/setup.sh ceph-mon ceph-osd radosgw curl; then
  export KURA_S3_DIR=${KURA_S3_DIR:-/tmp/kura-s3-$$}
  trap 'scripts/ceph-s3.sh down' EXIT
  scripts/ceph-s3.sh up
  eval "$(scripts/ceph-s3.sh env)"
else
  echo "test.sh: SKIPPING the S3 tests (label s3): the packages ceph-mon ceph-osd radosgw cannot be installed" >&2
  s3_args=(-LE s3)
fi
ctest --test-dir "$build_dir" --output-on-failure -j2 "${s3_args[@]}" "$@"
