#!/usr/bin/env bash
# Runs the kernel integration tests (root, real BPF, own namespaces and cgroups) from an existing
# build. Used by test.sh on the host and by vmtest.sh inside the qemu guest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "kernel tests need root (CAP_BPF, CAP_NET_ADMIN)" >&2; exit 1; }
# bpftool and mmchaos need bpffs only for inspection; mount it if this host has not.
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
echo "kernel-tests: $(uname -r)"
# Extra arguments go to ctest, e.g. -R Netem for a subset.
exec ctest --test-dir build -L kernel --output-on-failure "$@"   # per-test TIMEOUT in tests/CMakeLists.txt
