#!/usr/bin/env bash
# Configures and builds everything (BPF objects, skeletons, mmchaos, tests) into build/.
#
#   scripts/build.sh                      the default build: build/, RelWithDebInfo, Ninja
#   BUILD_DIR=b BUILD_TYPE=Release GENERATOR="Unix Makefiles" scripts/build.sh [TARGET...]
#
# With targets, only those are built (test.sh's second configuration builds just the binaries).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build}
type=${BUILD_TYPE:-RelWithDebInfo}
gen=${GENERATOR:-}
if [ -z "$gen" ]; then
  gen="Unix Makefiles"
  command -v ninja >/dev/null && gen=Ninja
fi
if [ -f "$dir/CMakeCache.txt" ]; then
  # A tree configured otherwise is reconfigured from scratch rather than half-reused.
  have_gen=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$dir/CMakeCache.txt")
  have_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$dir/CMakeCache.txt")
  if [ "$have_gen" != "$gen" ] || [ "$have_type" != "$type" ]; then
    echo "build: $dir was configured for $have_gen/$have_type, reconfiguring for $gen/$type"
    rm -rf "$dir"
  fi
fi
# Configured unless a whole configuration is there: a configure that failed leaves a cache
# without build files.
if [ ! -f "$dir/CMakeCache.txt" ] || { [ ! -f "$dir/build.ninja" ] && [ ! -f "$dir/Makefile" ]; }; then
  cmake -S . -B "$dir" -G "$gen" -DCMAKE_BUILD_TYPE="$type" >/dev/null
fi
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$dir" -j "$(nproc)" "${targets[@]}"
