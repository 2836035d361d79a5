#!/usr/bin/env bash
# Fuzzes the config parser for a bounded time: parse, dump, reparse (the dump must reparse to
# itself). Seeds from tests/fuzz/corpus (read only); new inputs go to a scratch directory; a
# crash leaves its input in build-fuzz/ and fails the script.
#   ./scripts/fuzz-config.sh [SECONDS]    (default 60)
#   FUZZ_SEED=N FUZZ_RUNS=M ...            a reproducible run (test.sh: the same inputs every time,
#                                          so CI fails on a regression, not on a lucky draw)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
command -v clang++-16 >/dev/null || { echo "fuzz-config: clang++-16 missing: ./scripts/install-deps.sh" >&2; exit 1; }
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
[ -f build-fuzz/CMakeCache.txt ] ||
  cmake -S tests/fuzz -B build-fuzz "${generator[@]}" -DCMAKE_CXX_COMPILER=clang++-16 >/dev/null
cmake --build build-fuzz -j "$(nproc)"
work=$(mktemp -d /tmp/mmchaos-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT
# One process, bounded in time, memory per input and time per input.
./build-fuzz/config_fuzz -max_total_time="$seconds" -seed="${FUZZ_SEED:-0}" -runs="${FUZZ_RUNS:--1}" \
  -rss_limit_mb=1024 -timeout=10 \
  -max_len=65536 -artifact_prefix=build-fuzz/ -print_final_stats=1 "$work" tests/fuzz/corpus
