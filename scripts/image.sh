#!/usr/bin/env bash
# Builds the container image localhost/mmchaos:<version> with buildah, with no registry and no
# base image: `buildah from scratch`, then the files of the Debian package (scripts/package.sh)
# and the shared libraries they link against, copied from this Debian 12 host's own packages.
# The image holds mmchaos, its preload library, /etc/mmchaos/chaos.yaml (nothing injected) and
# nothing else: no shell, no package manager.
#
#   scripts/image.sh                    builds the .deb (scripts/package.sh), then the image
#   DEB=FILE scripts/image.sh           from a .deb built already
#   scripts/image.sh --rootfs DIR       also writes the image's root filesystem to DIR (what a
#                                       runtime would run; tests/kernel/container_test.cpp)
#
# Root (buildah's storage in /var/lib/containers). Prints the image's name and id.
set -euo pipefail
cd "$(dirname "$0")/.."
rootfs_out=""
if [ "${1:-}" = --rootfs ]; then
  rootfs_out=${2:?--rootfs needs a directory}
fi
command -v buildah >/dev/null || ./scripts/install-deps.sh
deb=${DEB:-}
[ -n "$deb" ] || deb=$(./scripts/package.sh | tail -n 1)
[ -f "$deb" ] || { echo "image: no .deb at '$deb'" >&2; exit 2; }
version=$(dpkg-deb -f "$deb" Version)
version=${version%-*}

stage=$(mktemp -d /tmp/mmchaos-image-XXXXXX)
ctr=""
cleanup() {
  [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1
  rm -rf "$stage"
}
trap cleanup EXIT

dpkg-deb -x "$deb" "$stage"
# The package's shared-library dependencies, as the dynamic loader resolves them here (Debian's
# libbpf, libnl, yaml-cpp, prometheus-cpp, libelf, libstdc++, glibc...), at the same paths.
for elf in "$stage"/usr/bin/mmchaos "$stage"/usr/lib/mmchaos/*.so; do
  ldd "$elf" | awk '/=> \// { print $3 } /^\t\/lib64\// { print $1 }'
done | sort -u | while read -r lib; do
  # Debian's merged /usr: every library lives under /usr, /lib and /lib64 are links into it.
  real=$(readlink -f "$lib")
  real=/usr${real#/usr}
  name=/usr${lib#/usr}
  install -D -m 0755 "$real" "$stage$real"
  [ "$real" = "$name" ] || { mkdir -p "$stage$(dirname "$name")"; ln -sfn "$real" "$stage$name"; }
done
ln -sfn usr/lib "$stage/lib"
ln -sfn usr/lib64 "$stage/lib64"
# Users for `mmchaos exec --user`, and the mount points a runtime fills (the DaemonSet's).
mkdir -p "$stage"/etc "$stage"/proc "$stage"/sys/fs/cgroup "$stage"/sys/fs/bpf \
  "$stage"/run/mmchaos "$stage"/run/netns "$stage"/var/log/mmchaos "$stage"/var/log/pods \
  "$stage"/tmp "$stage"/dev
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' \
  >"$stage"/etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage"/etc/group
chmod 1777 "$stage"/tmp

ctr=$(buildah from scratch)
buildah copy --quiet "$ctr" "$stage" / >/dev/null
buildah config \
  --entrypoint '["/usr/bin/mmchaos"]' --cmd 'run -c /etc/mmchaos/chaos.yaml' \
  --port 9464/tcp --stop-signal TERM \
  --label org.opencontainers.image.title=mmchaos \
  --label org.opencontainers.image.version="$version" \
  --label org.opencontainers.image.description="kernel-level chaos injection (see deploy/kubernetes)" \
  "$ctr"
id=$(buildah commit --quiet --rm "$ctr" "localhost/mmchaos:$version")
ctr=""
echo "image: localhost/mmchaos:$version $id"

if [ -n "$rootfs_out" ]; then
  # The image's layers as a runtime would unpack them.
  mkdir -p "$rootfs_out"
  c=$(buildah from "localhost/mmchaos:$version")
  mnt=$(buildah mount "$c")
  cp -a "$mnt/." "$rootfs_out/"
  buildah umount "$c" >/dev/null
  buildah rm "$c" >/dev/null
  echo "image: root filesystem in $rootfs_out"
fi
