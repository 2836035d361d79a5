#!/usr/bin/env bash
# Installs every Debian package that mmchaos' build, tests, benchmarks and demo need.
# Idempotent: packages already present are not fetched again. The only place package names live.
set -euo pipefail

PKGS=(
  # build
  build-essential cmake ninja-build pkg-config clang llvm libbpf-dev bpftool linux-libc-dev
  libelf-dev zlib1g-dev
  libnl-3-dev libnl-route-3-dev libyaml-cpp-dev prometheus-cpp-dev libcli11-dev
  nlohmann-json3-dev googletest libgtest-dev libgmock-dev clang-format
  # kernel plumbing used by tests, doctor and the demo
  iproute2 iputils-ping procps util-linux kmod
  # real peers in tests, benchmarks and the demo
  curl iperf3 jq bc prometheus dnsmasq-base dnsutils openssl haproxy
  python3 python3-websockets  # Debian's /usr/bin/python3 and a third-party WebSocket client
  # the qemu lane (scripts/vmtest.sh)
  qemu-system-x86 busybox-static cpio xz-utils zstd
  # reference target (reference/: mock exchange, reference engine; HTTPS/WSS through OpenSSL)
  libboost-dev libssl-dev
  # packaging (deploy/, issue 15): the man page from the CLI, the .deb's lint
  help2man lintian man-db
  # the container image (scripts/image.sh: buildah from scratch) and its test, which runs the
  # image's root filesystem as a runtime would (unshare, capsh); podman to inspect/run it elsewhere
  buildah podman libcap2-bin
  # the config fuzzer (tests/fuzz, scripts/fuzz-config.sh) and the sanitizers' runtimes: clang 14
  # cannot compile libstdc++ 12's std::expected
  clang-16 libfuzzer-16-dev libclang-rt-16-dev
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || {
  echo "install-deps: apt-get update failed: Debian's package lists are needed (is the mirror reachable?)" >&2
  exit 1
}
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/install-deps.$$.log 2>&1; then
  tail -n 20 /tmp/install-deps.$$.log >&2
  echo "install-deps: apt-get install failed for: ${missing[*]} (full log: /tmp/install-deps.$$.log)." \
       "A package renamed or removed in Debian needs its name changed in scripts/install-deps.sh." >&2
  exit 1
fi
rm -f /tmp/install-deps.$$.log
echo "install-deps: done"
