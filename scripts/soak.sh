#!/usr/bin/env bash
# Soak test (not in CI; root, under the kernel lock):
#   flock /tmp/mmchaos-kernel.lock ./scripts/soak.sh [STARTS]     (default 100)
# STARTS controller starts against an engine with REST traffic flowing, each SIGKILLed at a
# random moment: during attach, during bursts, or just after a SIGHUP reload. Every other start
# is cleaned up by `mmchaos rollback`, the others by the next start. After each rollback (and at
# the end) nothing of mmchaos may be left: no mmc_ BPF link, no record of the target in
# /run/mmchaos, no mmc* device (ifb, bounce veth) in any netns it uses, the interface's qdiscs
# and tc filters as before, the engine's memory.high as before, no damaged record; and a sibling
# cgroup's pings on the same interface lose nothing over the whole soak.
# Where the cgroup v2 hierarchy has the memory controller (the qemu lanes: see docs/OPERATIONS.md)
# mem_pressure: high is configured too, so kills also land while memory.high is lowered.
# On both kernels, one command each (qemu, TCG; the lanes' kernels):
#   flock -o /tmp/mmchaos-kernel.lock env VMTEST_TIMEOUT=1800 ./scripts/vmtest.sh ./scripts/soak.sh 100
#   flock -o /tmp/mmchaos-kernel.lock env VMTEST_TIMEOUT=1800 VMTEST_KERNEL=6.12 \
#       ./scripts/vmtest.sh ./scripts/soak.sh 100
# Everything it makes (two netns, a veth pair, cgroups, processes) is removed on exit.
set -uo pipefail
cd "$(dirname "$0")/.."
starts=${1:-100}
bin=$PWD/build/userspace/mmchaos
[ -x "$bin" ] || { echo "soak: build first (./scripts/build.sh)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "soak: needs root" >&2; exit 2; }

tag=mmsoak$$
eng=${tag}e exch=${tag}x
cg2=$("$bin" doctor --json | jq -r '.cgroup2 // empty')  # the cgroup v2 mount mmchaos uses
[ -n "$cg2" ] || { echo "soak: no cgroup v2 mount (mmchaos doctor)" >&2; exit 2; }
root_cg=$cg2/mmchaos-soak-$$
work=$(mktemp -d /tmp/mmchaos-soak-XXXXXX)
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  "$bin" rollback >/dev/null 2>&1
  for d in "$root_cg"/engine "$root_cg"/sibling "$root_cg"; do
    [ -d "$d" ] || continue
    [ -f "$d/cgroup.kill" ] && echo 1 >"$d/cgroup.kill" 2>/dev/null
    for _ in $(seq 50); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
  done
  ip netns del "$eng" 2>/dev/null
  ip netns del "$exch" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$eng" && ip netns add "$exch" || exit 1
ip -n "$eng" link set lo up
ip -n "$exch" link set lo up
ip link add "${tag}a" netns "$eng" type veth peer name "${tag}b" netns "$exch" || exit 1
ip -n "$eng" addr add 10.77.0.1/24 dev "${tag}a"
ip -n "$exch" addr add 10.77.0.2/24 dev "${tag}b"
ip -n "$eng" link set "${tag}a" up
ip -n "$exch" link set "${tag}b" up
mkdir -p "$root_cg"
# mem_pressure needs the memory controller enabled for the engine's cgroup (the operator's step,
# never mmchaos'): only where the hierarchy has it, so the host's hybrid cgroups soak without it.
mem=none
if grep -qw memory "$cg2/cgroup.controllers" 2>/dev/null; then
  grep -qw memory "$cg2/cgroup.subtree_control" || echo +memory >"$cg2/cgroup.subtree_control"
  echo +memory >"$root_cg/cgroup.subtree_control" && mem=high
fi
mkdir -p "$root_cg/engine" "$root_cg/sibling"

# In cgroup $1, in netns $2: the rest of the arguments (cgroup first: `ip netns exec` remounts /sys).
in_cg() {
  local cg=$1 ns=$2
  shift 2
  sh -c 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$@"' "$cg" "$ns" "$@" &
  pids+=($!)
  disown $!
}
ip netns exec "$exch" /usr/bin/python3 -m http.server 8080 --bind 10.77.0.2 >/dev/null 2>&1 &
pids+=($!)
disown $!
sleep 1
in_cg "$root_cg/engine" "$eng" sh -c \
  'while :; do curl -s -m 1 -o /dev/null http://10.77.0.2:8080/; sleep 0.01; done'
if [ $mem = high ]; then
  # A working set in the engine's cgroup, so that a burst's memory.high is below "max" (64 MiB
  # resident: above the 32 MiB floor, so a high squeeze lowers it).
  in_cg "$root_cg/engine" "$eng" /usr/bin/python3 -c \
    'import time; b = bytearray(64 << 20); [b.__setitem__(i, 1) for i in range(0, len(b), 4096)]; time.sleep(86400)'
fi
in_cg "$root_cg/sibling" "$eng" ping -i 0.01 10.77.0.2 >"$work/ping.txt" 2>&1
ping_pid=${pids[-1]}

# Without tcx links mmchaos hooks the interface through a clsact, and adding or deleting one
# pauses the device for everyone (README); provisioned once, as the README advises, mmchaos never
# adds or removes it and a sibling must lose nothing.
doctor=$("$bin" doctor --json)
if [ "$(jq -r .tc_attach <<<"$doctor")" = clsact ]; then
  ip netns exec "$eng" tc qdisc add dev "${tag}a" clsact || exit 1
fi
# The netem path too (its ifb, and bounce veths with tcx) where the kernel has netem: lat_spike.
lat=0
[ "$(jq -r '.scenarios[] | select(.scenario == "lat_spike") | .supported' <<<"$doctor")" = true ] &&
  lat=20
base_qdisc=$(ip netns exec "$eng" tc qdisc show dev "${tag}a")
tc_filters() {
  for dir in ingress egress; do ip netns exec "$eng" tc filter show dev "${tag}a" $dir; done
}
base_filters=$(tc_filters)
base_high=$(cat "$root_cg/engine/memory.high" 2>/dev/null)
config() {  # $1: exch_429 intensity
  cat <<YAML
chaos:
  enabled: true
  dry_run: false
  net_loss: 0.05
  exch_429: $1
  lat_spike_ms: $lat
  mem_pressure: $mem
  burst_on_sec: 0.5
  burst_off_sec: 0.5
target:
  cgroup: $root_cg/engine
  netns: /run/netns/$eng
  interfaces: [${tag}a]
  exchanges:
    x: {rest: ["http://10.77.0.2:8080/"]}
  heartbeat_ms: 100
metrics:
  listen: "127.0.0.1:$((20000 + $$ % 20000))"
log:
  injections: $work/inj.jsonl
YAML
}
config 0.5 >"$work/chaos.yaml"
cgid=$(stat -c %i "$root_cg/engine")

failures=0
fail() {
  echo "soak: start $1: $2" >&2
  failures=$((failures + 1))
}
check_clean() {
  local i=$1 st
  st=$("$bin" status --json 2>&1) || fail "$i" "status failed: $st"
  for k in attached netem memory damaged_records; do
    [ "$(jq -r ".$k | length" <<<"$st")" = 0 ] || fail "$i" "status shows $k: $(jq -c ".$k" <<<"$st")"
  done
  ls /run/mmchaos/cgroup-"$cgid".* >/dev/null 2>&1 && fail "$i" "records left: $(ls /run/mmchaos)"
  bpftool link show 2>/dev/null | grep -q 'name mmc_' && fail "$i" "an mmc_ link is left"
  ip -n "$eng" -o link | grep -q ': mmc' && fail "$i" "an mmc* device is left in the engine's netns"
  ip -o link | grep -q ': mmc' && fail "$i" "an mmc* device is left in the root netns"
  [ "$(ip netns exec "$eng" tc qdisc show dev "${tag}a")" = "$base_qdisc" ] ||
    fail "$i" "the interface's qdiscs changed"
  [ "$(tc_filters)" = "$base_filters" ] || fail "$i" "the interface's tc filters changed: $(tc_filters)"
  [ "$(cat "$root_cg/engine/memory.high" 2>/dev/null)" = "$base_high" ] ||
    fail "$i" "the engine's memory.high is $(cat "$root_cg/engine/memory.high"), was $base_high"
}

declare -A moments=()
for i in $(seq "$starts"); do
  log=$work/run-$i.log
  "$bin" run -c "$work/chaos.yaml" 2>"$log" &
  ctl=$!
  moment=$((RANDOM % 3))
  case $moment in
    0) sleep "0.$(printf '%03d' $((RANDOM % 400)))" ;;  # during attach
    1 | 2)
      for _ in $(seq 100); do grep -qs 'tc hook up' "$log" && break; sleep 0.05; done
      grep -qs 'tc hook up' "$log" || fail "$i" "did not attach: $(tail -3 "$log")"
      if [ $moment = 2 ]; then
        config "0.$((RANDOM % 9 + 1))" >"$work/chaos.yaml"
        kill -HUP $ctl
        sleep "0.0$((RANDOM % 10))"
      else
        sleep "$((RANDOM % 2)).$((RANDOM % 10))"
      fi
      ;;
  esac
  kill -9 $ctl 2>/dev/null
  wait $ctl 2>/dev/null
  moments[$moment]=$((${moments[$moment]:-0} + 1))
  if ((i % 2 == 0)) || ((i == starts)); then
    out=$("$bin" rollback 2>&1) || fail "$i" "rollback: $out"
    check_clean "$i"
  fi
done

kill -INT "$ping_pid" 2>/dev/null
sleep 0.5
# Every echo request the sibling sent must be answered, but for those still in flight at the
# SIGINT: the last second's (under qemu's TCG a round trip can outlast several 10 ms intervals).
# icmp_seq wraps at 65536 (11 min at 100/s): past that, a loss is missed if the same sequence
# number was answered in another round.
read -r sent got < <(awk '/packets transmitted/ { print $1, $4 }' "$work/ping.txt")
lost=$(awk -v last="${sent:-0}" -F'icmp_seq=' '/ bytes from / { split($2, a, " "); seen[a[1]] = 1 }
  END { for (i = 1; i <= last - 100; i++) if (!((i % 65536) in seen)) printf "%d ", i }' "$work/ping.txt")
if [ -z "${sent:-}" ] || [ -n "$lost" ]; then
  fail end "the sibling's pings: $(grep transmitted "$work/ping.txt"); unanswered icmp_seq: $lost"
else
  echo "soak: sibling: every ping answered ($got of $sent, the last second's in flight excused)"
fi
echo "soak: $(uname -r), tc: $(jq -r .tc_attach <<<"$doctor"), lat_spike_ms: $lat," \
  "mem_pressure: $mem, $SECONDS s"
echo "soak: $starts starts (killed during attach ${moments[0]:-0}, bursts ${moments[1]:-0}," \
  "after SIGHUP ${moments[2]:-0}), $failures failure(s)"
exit $((failures > 0))
