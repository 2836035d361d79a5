#!/usr/bin/env bash
# The qemu lane: run a command as root inside one of Debian 12's stock kernels (qemu, TCG), against
# this machine's own root filesystem, and exit with the command's status. By default the 6.1 LTS
# that linux-image-amd64 depends on; VMTEST_KERNEL picks another (Debian 12 also ships 6.12).
#
#   scripts/vmtest.sh [CMD [ARGS...]]        default CMD: ./scripts/kernel-tests.sh
#
# Why: the host kernel has no netem and no cgroup v2 memory controller, and cannot load modules
# (see /work/shared/KERNEL-FACTS.md). Debian's 6.1 has both, and is the LTS most hosts run; its
# 6.12 has them too, plus tcx links (6.6+) and bpf_redirect into an ifb (6.4+).
#
# The guest sees the host's / read-only over 9p with a tmpfs overlay on top: everything built on
# the host is there at the same path, and everything the guest writes is thrown away at exit.
# CMD runs with cwd = the repo root, env = CI, MMCHAOS_*, TERM, LANG from the host plus
# MMCHAOS_IN_VM=1, stdin /dev/null, in its own session. Its output streams to stdout; guest boot
# noise is shown only on failure. The guest has loopback only (no NIC).
#
# Environment:
#   VMTEST_TIMEOUT  seconds before qemu is killed, boot included (default 600)
#   VMTEST_CACHE    kernel + initramfs cache, keyed by kernel version (default /var/cache/mmchaos-vmtest)
#   VMTEST_KERNEL   which kernel (default: the one linux-image-amd64 depends on, 6.1 on Debian 12):
#                   a version, e.g. 6.1.0-56-amd64 or 6.12.107+deb12-amd64, or a series, e.g. 6.12
#                   (the newest generic linux-image-6.12.*-amd64[-unsigned] apt knows)
#   VMTEST_MEM, VMTEST_SMP   guest size (default 2048 MiB, 2 CPUs)
#   VMTEST_OUT=DIR  a host directory the guest can write to, at the same path (reports, logs)
#   VMTEST_VERBOSE=1         also stream the guest's boot messages
#
# Exit status: CMD's; 124 if VMTEST_TIMEOUT expired; 125 if vmtest itself or the guest failed.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
TIMEOUT=${VMTEST_TIMEOUT:-600}
CACHE=${VMTEST_CACHE:-/var/cache/mmchaos-vmtest}
MEM=${VMTEST_MEM:-2048}
SMP=${VMTEST_SMP:-2}

# Loaded at boot, in this order with their dependencies: virtio/9p/overlay to reach the host's
# root, then the tc/net features the tests need. Anything else autoloads from the bind-mounted
# /lib/modules/<ver> through the host's /sbin/modprobe.
BOOT_MODULES=(virtio_pci 9pnet_virtio 9p overlay)
FEATURE_MODULES=(sch_netem sch_htb sch_fq sch_ingress sch_tbf cls_bpf cls_u32 cls_fw act_mirred
                 act_gact ifb veth)

# Our own failures exit 125 (timeout 124), so they stand apart from the usual test failures.
log() { echo "vmtest: $*" >&2; }
die() { log "$*"; exit 125; }
# Any other failing command names itself and its line (never a bare status such as 141).
trap 'rc=$?; trap - ERR; log "failed: \`$BASH_COMMAND\` (line $LINENO, status $rc)"; exit 125' ERR

[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "VMTEST_TIMEOUT must be whole seconds, got '$TIMEOUT'"
[ $# -gt 0 ] || set -- ./scripts/kernel-tests.sh

# Catch a mistyped path here rather than after a boot (the guest sees the same files).
if [[ $1 == */* ]] && ! (cd "$ROOT" && [ -x "$1" ]); then
  die "$1: not an executable file (relative paths are taken from $ROOT)"
fi

if ! command -v qemu-system-x86_64 >/dev/null; then
  "$ROOT/scripts/install-deps.sh"
fi

# ---------------------------------------------------------------------------------------------
# Guest side. Stage 1 is the initramfs' /init: it reaches the host's root and switches to it.
# Stage 2 runs as PID 1 in that root (so the kernel's module autoloader, which shares PID 1's
# root, finds the host's /sbin/modprobe), mounts the API filesystems and runs CMD.
# Both are baked into the cached initramfs, whose file name carries a hash of this script.
# ---------------------------------------------------------------------------------------------
read -r -d '' STAGE1 <<'EOF' || true
#!/bin/busybox sh
[ $$ = 1 ] || { echo "vmtest stage 1 runs only as a guest's PID 1" >&2; exit 1; }
export PATH=/bin
mount -t devtmpfs dev /dev
exec </dev/null >/dev/console 2>&1
fail() { echo "vmtest-init: $*"; poweroff -f; }
mount -t proc proc /proc
mount -t sysfs sys /sys
stty -onlcr </dev/console   # plain \n on the host side
while read -r m args; do
  insmod "/modules/$m.ko" $args || fail "insmod $m failed"
done </modules/load.list
mkdir -p /lower /rw /newroot
# msize 512000 is the largest the 6.1 virtio transport takes; cache=loose is safe because the
# host root is read-only to us and not expected to change while the guest runs.
i=0
until mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower; do
  i=$((i + 1)); [ $i -lt 20 ] || fail "cannot mount the host root over 9p"; sleep 0.1
done
mount -t tmpfs -o mode=755 rw /rw
mkdir /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot \
  || fail "cannot mount the overlay"
for d in proc sys dev; do mount --move /$d /newroot/$d || fail "cannot move /$d"; done
mount -t tmpfs -o mode=755,nosuid,nodev run /newroot/run
mkdir -p /newroot/run/vmtest
cp /bin/busybox /stage2 /newroot/run/vmtest/
exec switch_root /newroot /run/vmtest/busybox sh /run/vmtest/stage2
EOF

read -r -d '' STAGE2 <<'EOF' || true
[ $$ = 1 ] || { echo "vmtest stage 2 runs only as a guest's PID 1" >&2; exit 1; }
bb=/run/vmtest/busybox
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
fail() { echo "vmtest-init: $*"; $bb poweroff -f; }
for a in $(cat /proc/cmdline); do
  case $a in
    vmtest.run=*) run=${a#*=} ;;
    vmtest.nonce=*) nonce=${a#*=} ;;
    vmtest.kver=*) kver=${a#*=} ;;
    vmtest.cache=*) cache=${a#*=} ;;
    vmtest.hosttmp=1) hosttmp=1 ;;
    vmtest.out=*) out=${a#*=} ;;
  esac
done
# The per-run script lives in the host's /tmp: take it before /tmp is covered (and the cache,
# which may be there too). The whole module tree, for modprobe and the kernel's autoloader.
$bb cp "$run/cmd.sh" /run/vmtest/cmd.sh || fail "cannot read $run/cmd.sh"
$bb mkdir -p "/lib/modules/$kver"
$bb mount --bind "$cache/$kver/lib/modules/$kver" "/lib/modules/$kver" \
  || fail "cannot bind the module tree"
# Keep the host's /tmp visible only when the repo itself lives there.
[ -n "${hosttmp:-}" ] || $bb mount -t tmpfs -o mode=1777,nosuid,nodev tmp /tmp
$bb mkdir -p /run/netns /run/lock /dev/pts /dev/shm
$bb mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
$bb mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm
for f in fd:/proc/self/fd stdin:/proc/self/fd/0 stdout:/proc/self/fd/1 stderr:/proc/self/fd/2; do
  $bb ln -sfn "${f#*:}" "/dev/${f%%:*}"
done
$bb mount -t bpf -o mode=700 bpf /sys/fs/bpf || fail "cannot mount bpffs"
$bb mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || fail "cannot mount cgroup2"
for c in $($bb cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || echo "vmtest-init: cannot enable $c"
done
$bb mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
$bb mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
$bb mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
# VMTEST_OUT: the one host directory the guest may write to (no cache: the host reads it after).
if [ -n "${out:-}" ]; then
  $bb mkdir -p "$out"
  $bb mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out "$out" || fail "cannot mount $out"
fi
$bb hostname mmchaos-vm
echo "127.0.1.1 mmchaos-vm" >>/etc/hosts   # resolvable, like a real host's name
$bb ip link set lo up
echo "VMTEST-START-$nonce"
# Its own session, as under CI: a test's `kill 0` must not reach PID 1.
/usr/bin/setsid -w /usr/bin/env -i HOME=/root USER=root LOGNAME=root PATH="$PATH" /bin/bash /run/vmtest/cmd.sh
rc=$?
echo "VMTEST-EXIT-$nonce=$rc"
# stty sets with TCSADRAIN: waits until the serial port has sent everything before power-off.
$bb stty -onlcr </dev/console
$bb poweroff -f
EOF

# ---------------------------------------------------------------------------------------------
# Host side: kernel and initramfs, cached per kernel version.
# ---------------------------------------------------------------------------------------------
# The guest gets the cache path on the kernel command line, which splits on blanks.
[[ $CACHE != *[[:space:]]* ]] || die "VMTEST_CACHE must not contain blanks"

resolve_kernel() {
  apt-cache depends linux-image-amd64 2>/dev/null \
    | awk '$1 ~ /Depends:$/ && $2 ~ /^linux-image-[0-9].*-amd64$/ { sub(/^linux-image-/, "", $2); print $2; exit }'
}

# A series (6.12, 6.1) -> the newest generic kernel of it apt knows, e.g. 6.12.117+deb12-amd64. Debian
# 12 ships the newer series only as -unsigned packages; rt and cloud flavours are excluded.
resolve_series() {
  apt-cache pkgnames "linux-image-$1." 2>/dev/null \
    | sed -nE "s/^linux-image-(${1//./\\.}\.[0-9]+(-[0-9]+)?[^-]*-amd64)(-unsigned)?$/\1/p" \
    | sort -uV | tail -n1
}

# The package that holds a kernel version: linux-image-VER, or linux-image-VER-unsigned.
kernel_package() {
  local p
  for p in "linux-image-$1" "linux-image-$1-unsigned"; do
    if apt-cache show "$p" >/dev/null 2>&1; then echo "$p"; return; fi
  done
  return 1
}

mkdir -p "$CACHE" 2>/dev/null || die "cannot create $CACHE (run as root or set VMTEST_CACHE)"

# Which kernel to boot: VMTEST_KERNEL's version as given, or what apt resolves a series or
# linux-image-amd64 to. apt-cache takes half a second, so the answer is remembered until the apt
# lists change; with `fresh`, the lists are refreshed first and nothing remembered is used (Debian
# replaces kernel packages every few weeks: stale lists name a package the mirror no longer has).
KVER_EXPLICIT=0
resolve_kver() {
  local fresh=${1:-} resolved
  if [ -n "$fresh" ]; then
    log "refreshing apt's package lists (apt-get update)"
    apt-get update -qq || die "apt-get update failed: the kernel package cannot be found without" \
                              "Debian's package lists (is the Debian mirror reachable?)"
  fi
  if [[ ${VMTEST_KERNEL:-} =~ ^[0-9]+\.[0-9]+$ ]]; then
    resolved=$CACHE/.series-$VMTEST_KERNEL
    if [ -z "$fresh" ] && [ -s "$resolved" ] && [ "$resolved" -nt /var/lib/apt/lists ]; then
      KVER=$(<"$resolved")
    else
      KVER=$(resolve_series "$VMTEST_KERNEL" || true)
      [ -n "$KVER" ] || [ -n "$fresh" ] || { resolve_kver fresh; return; }
      [ -n "$KVER" ] || die "apt knows no generic linux-image-$VMTEST_KERNEL.* package" \
                            "(VMTEST_KERNEL=$VMTEST_KERNEL: is that a Debian 12 kernel series?)"
      echo "$KVER" >"$resolved"
    fi
  elif [ -n "${VMTEST_KERNEL:-}" ]; then
    KVER=$VMTEST_KERNEL KVER_EXPLICIT=1
  else
    resolved=$CACHE/.linux-image-amd64
    if [ -z "$fresh" ] && [ -s "$resolved" ] && [ "$resolved" -nt /var/lib/apt/lists ]; then
      KVER=$(<"$resolved")
    else
      KVER=$(resolve_kernel || true)
      [ -n "$KVER" ] || [ -n "$fresh" ] || { resolve_kver fresh; return; }
      [ -n "$KVER" ] || die "cannot tell which kernel linux-image-amd64 depends on" \
                            "(apt-cache depends linux-image-amd64 names no linux-image-*-amd64)"
      echo "$KVER" >"$resolved"
    fi
  fi
  case $KVER in *cloud*) die "$KVER: the cloud flavour has no 9p, use the generic one" ;; esac
  KDIR=$CACHE/$KVER
}
resolve_kver

# Boot the uncompressed ELF through its PVH entry: decompressing the bzImage under TCG costs
# seconds per boot. The payload's place is in the x86 boot header (setup_sects at 0x1f1,
# payload_offset/payload_length at 0x248/0x24c, from the end of the setup code); 6.1 packs it with
# xz, 6.12 with zstd, each followed by its 4-byte decompressed size. Falls back to the bzImage when the payload is neither or the tool is absent.
extract_vmlinux() {
  local bz=$1 out=$2 setup off len magic
  le32() { od -An -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }
  setup=$(od -An -t u1 -j $((0x1f1)) -N 1 "$bz" | tr -d ' ')
  [ "$setup" != 0 ] || setup=4
  off=$(( (setup + 1) * 512 + $(le32 "$bz" $((0x248))) ))
  len=$(le32 "$bz" $((0x24c)))
  # One reader, no pipe: a `tail | head` pipeline dies of SIGPIPE under pipefail as soon as
  # what follows the payload outgrows a pipe buffer (6.1.0-57's 103,696-byte trailer did).
  dd if="$bz" of="$out.payload" iflag=skip_bytes,count_bytes skip="$off" count=$((len - 4)) \
     bs=1M status=none || die "cannot cut the payload out of $bz (dd failed)"
  magic=$(od -An -t x1 -N 4 "$out.payload" | tr -d ' ')
  local dec=()
  case $magic in
    fd377a58) command -v xz >/dev/null && dec=(xz -dc) ;;
    28b52ffd) command -v zstd >/dev/null && dec=(zstd -dcq) ;;
  esac
  if [ ${#dec[@]} -gt 0 ] && "${dec[@]}" <"$out.payload" >"$out" 2>/dev/null \
     && [ "$(head -c4 "$out")" = $'\x7fELF' ]; then
    rm -f "$out.payload"
    return
  fi
  rm -f "$out.payload"
  log "cannot unpack the kernel payload (magic $magic): booting the compressed image (slower)"
  cp "$bz" "$out"
}

build_kernel() {
  local tmp=$1 pkg
  log "fetching linux-image-$KVER (first run for this kernel in $CACHE)"
  if ! pkg=$(kernel_package "$KVER") || ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null 2>&1); then
    # Stale package lists (Debian replaced the kernel) or none yet: refresh, resolve again.
    if [ "$KVER_EXPLICIT" = 1 ]; then apt-get update -qq || true; else resolve_kver fresh; fi
    log "fetching linux-image-$KVER"
    pkg=$(kernel_package "$KVER") \
      || die "apt knows no linux-image-$KVER[-unsigned] package (VMTEST_KERNEL names a kernel" \
             "Debian 12 no longer ships? Leave it unset or give a series such as 6.1 or 6.12)"
    (cd "$tmp" && rm -f ./*.deb && apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null) \
      || die "apt-get download $pkg failed (is the Debian mirror reachable?)"
  fi
  dpkg-deb -x "$tmp/$pkg"_*.deb "$tmp/x"
  # Newer packages install the modules under usr/lib (merged /usr); depmod -b wants lib/.
  if [ ! -d "$tmp/x/lib/modules" ] && [ -d "$tmp/x/usr/lib/modules" ]; then
    mkdir -p "$tmp/x/lib"
    mv "$tmp/x/usr/lib/modules" "$tmp/x/lib/modules"
  fi
  depmod -b "$tmp/x" "$KVER"
  mkdir -p "$tmp/k/lib"
  extract_vmlinux "$tmp/x/boot/vmlinuz-$KVER" "$tmp/k/vmlinux"
  mv "$tmp/x/lib/modules" "$tmp/k/lib/modules"
  rm -rf "$KDIR"
  mv "$tmp/k" "$KDIR"
}

build_initramfs() {
  local tmp=$1 out=$2 s=$1/initramfs m path args
  mkdir -p "$s/bin" "$s/modules" "$s/dev" "$s/proc" "$s/sys"
  cp /bin/busybox "$s/bin/busybox"
  for a in $("$s/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$s/bin/$a"; done
  printf '%s\n' "$STAGE1" >"$s/init"
  printf '%s\n' "$STAGE2" >"$s/stage2"
  chmod 755 "$s/init"
  # Dependency order from the kernel's own modules.dep; options are ours, not the host's config.
  for m in "${BOOT_MODULES[@]}" "${FEATURE_MODULES[@]}"; do
    modprobe -d "$KDIR" -S "$KVER" --show-depends --ignore-install "$m" | awk '$1 == "insmod" { print $2 }'
  done | awk '!seen[$0]++' | while read -r path; do
    m=$(basename "$path" .ko)
    args=""
    [ "$m" != ifb ] || args="numifbs=0"   # the tests name their own ifb devices
    cp "$path" "$s/modules/$m.ko"
    echo "$m $args" >>"$s/modules/load.list"
  done
  (cd "$s" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out.tmp"
  mv "$out.tmp" "$out"
}

# The initramfs has no libc: it needs busybox-static's /bin/busybox (not the dynamic busybox).
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' \
   || ! command -v cpio >/dev/null || ! command -v depmod >/dev/null; then
  "$ROOT/scripts/install-deps.sh"
fi
# Keyed by this script and busybox: editing either rebuilds the initramfs (about a second).
INITRD_KEY=$(cat "${BASH_SOURCE[0]}" /bin/busybox | sha256sum | cut -c1-12)
INITRD=$KDIR/initramfs-$INITRD_KEY.cpio

if [ ! -f "$KDIR/vmlinux" ] || [ ! -f "$INITRD" ]; then
  exec 9>"$CACHE/.lock"
  flock 9   # one builder at a time; a second run waits and then finds the cache filled
  if [ ! -f "$KDIR/vmlinux" ] || [ ! -f "$INITRD" ]; then
    btmp=$(mktemp -d "$CACHE/.build.XXXXXX")
    trap 'rm -rf "$btmp"' EXIT
    if [ ! -f "$KDIR/vmlinux" ]; then
      build_kernel "$btmp"   # may resolve a newer kernel: KDIR and so INITRD follow it
      INITRD=$KDIR/initramfs-$INITRD_KEY.cpio
    fi
    rm -f "$KDIR"/initramfs-*.cpio
    build_initramfs "$btmp" "$INITRD"
    rm -rf "$btmp"
    trap - EXIT
  fi
  exec 9>&-
fi

# ---------------------------------------------------------------------------------------------
# Run.
# ---------------------------------------------------------------------------------------------
# The per-run script goes where the guest can read it (the host's /tmp, through 9p).
run=$(mktemp -d /tmp/vmtest.XXXXXX)
qpid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  [ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true
  [ -z "$qpid" ] || wait "$qpid" 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
chmod 755 "$run"
nonce=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')

{
  printf 'cd %q || exit 126\n' "$ROOT"
  for v in $(compgen -e); do
    case $v in CI | MMCHAOS_* | TERM | LANG) printf 'export %s=%q\n' "$v" "${!v}" ;; esac
  done
  echo 'export MMCHAOS_IN_VM=1'
  printf 'exec'; printf ' %q' "$@"; echo
} >"$run/cmd.sh"

# mitigations=off and cryptomgr.notests: TCG is slow enough already (the self-tests cost 0.3 s).
# tsc=reliable: under TCG the guest TSC is the host's, so it is sound, and it spares every clock
# read (netem, BPF ktime) an emulated HPET access.
append=(console=ttyS0 panic=-1 mitigations=off cryptomgr.notests tsc=reliable
        "vmtest.run=$run" "vmtest.nonce=$nonce" "vmtest.kver=$KVER" "vmtest.cache=$CACHE")
[ "${VMTEST_VERBOSE:-0}" != 0 ] || append+=(quiet)
case $ROOT/ in /tmp/*) append+=(vmtest.hosttmp=1) ;; esac
outdev=()
if [ -n "${VMTEST_OUT:-}" ]; then
  mkdir -p "$VMTEST_OUT"
  out=$(cd "$VMTEST_OUT" && pwd -P)
  [[ $out != *[[:space:],]* ]] || die "VMTEST_OUT must not contain blanks or commas"
  [ "$out" != / ] || die "VMTEST_OUT must not be /"
  append+=("vmtest.out=$out")
  outdev=(-virtfs "local,path=$out,mount_tag=out,security_model=none,multidevs=remap")
fi

mkfifo "$run/console"
t0=$EPOCHREALTIME
# -nodefaults: no VGA/NIC/floppy to probe. multidevs=remap: the host's / spans several
# filesystems, whose inode numbers would otherwise collide in the guest.
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 \
  -accel tcg -cpu max -smp "$SMP" -m "$MEM" \
  -nodefaults -no-user-config -display none -serial stdio -nic none -no-reboot \
  -kernel "$KDIR/vmlinux" -initrd "$INITRD" -append "${append[*]}" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  "${outdev[@]}" </dev/null >"$run/console" &
qpid=$!

# Stream the console: hide boot noise until the start marker (kept for the failure report), pass
# the command's output through, take its status from the exit marker, drop the power-off chatter.
bootlog="" started=0 rc="" t_start="" t_end=""
while IFS= read -r line || [ -n "$line" ]; do
  line=${line%$'\r'}
  if [ -n "$rc" ]; then
    continue
  elif [ $started = 0 ]; then
    if [[ $line == *"VMTEST-START-$nonce"* ]]; then
      started=1 t_start=$EPOCHREALTIME
    else
      bootlog+=$line$'\n'
      [ "${VMTEST_VERBOSE:-0}" = 0 ] || printf '%s\n' "$line"
    fi
  elif [[ $line == *"VMTEST-EXIT-$nonce="* ]]; then
    [ -z "${line%%VMTEST-EXIT-"$nonce"=*}" ] || printf '%s\n' "${line%%VMTEST-EXIT-"$nonce"=*}"
    rc=${line##*VMTEST-EXIT-"$nonce"=} t_end=$EPOCHREALTIME
  else
    printf '%s\n' "$line"
  fi
done <"$run/console"

qrc=0
wait "$qpid" || qrc=$?
qpid=""
t1=$EPOCHREALTIME

# Seconds with one decimal between two $EPOCHREALTIME stamps.
secs() { local d=$(( (10#${2//[.,]/} - 10#${1//[.,]/}) / 100000 )); echo "$((d / 10)).$((d % 10))s"; }
if [[ $rc =~ ^[0-9]+$ ]]; then
  log "kernel $KVER: boot $(secs "$t0" "$t_start"), command $(secs "$t_start" "$t_end")," \
      "shutdown $(secs "$t_end" "$t1"), exit $rc"
  exit "$rc"
fi
[ $started = 1 ] || [ "${VMTEST_VERBOSE:-0}" != 0 ] || printf '%s' "$bootlog" >&2
case $qrc in
  124 | 137) log "timed out after ${TIMEOUT}s (VMTEST_TIMEOUT); qemu killed"; exit 124 ;;
  *) die "the guest stopped without reporting an exit status (qemu status $qrc; kernel panic or init failure?)" ;;
esac
