#!/usr/bin/env bash
# Installs, builds and runs every test: unit tests, kernel integration tests on this host's
# kernel, then the same kernel suite in the qemu guest (Debian 12's stock kernel).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "test.sh needs root: the kernel tests attach BPF programs" >&2; exit 1; }
./scripts/install-deps.sh
./scripts/build.sh
ctest --test-dir build -L unit --output-on-failure
./scripts/kernel-tests.sh
if [ -x scripts/vmtest.sh ]; then
  ./scripts/vmtest.sh ./scripts/kernel-tests.sh
fi
