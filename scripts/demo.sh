#!/usr/bin/env bash
# The main job, as far as this version goes: install, build, then build a namespace pair and an
# "engine" cgroup, send real traffic from it, run mmchaos live and then in shadow mode, and print
# the loss measured by the workload beside the data plane's counters. Everything it makes is
# removed on exit, however it exits.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "demo.sh needs root (CAP_BPF, CAP_NET_ADMIN)" >&2; exit 1; }
./scripts/install-deps.sh
./scripts/build.sh >/dev/null
MMCHAOS=$PWD/build/userspace/mmchaos
PROBE=$PWD/build/tests/udp-probe
PROBES=${DEMO_PROBES:-10000}

LOSS=${DEMO_NET_LOSS:-0.2}
ENG=mmc-demo-eng-$$ EX=mmc-demo-ex-$$
CG2=$(awk '$9=="cgroup2"{print $5; exit}' /proc/self/mountinfo)
CG=$CG2/mmchaos-demo-$$
WORK=$(mktemp -d /tmp/mmchaos-demo-XXXXXX)
CTL=

cleanup() {
  [ -n "$CTL" ] && kill "$CTL" 2>/dev/null && wait "$CTL" 2>/dev/null || true
  if [ -d "$CG" ]; then
    for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    sleep 0.1; rmdir "$CG" 2>/dev/null || true
  fi
  ip netns del "$ENG" 2>/dev/null || true
  ip netns del "$EX" 2>/dev/null || true
  [ -n "${DEMO_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

ip netns add "$ENG"; ip netns add "$EX"
ip -n "$ENG" link add veth-eng type veth peer name veth-ex netns "$EX"
ip -n "$ENG" addr add 10.78.0.1/24 dev veth-eng; ip -n "$ENG" link set veth-eng up
ip -n "$EX" addr add 10.78.0.2/24 dev veth-ex; ip -n "$EX" link set veth-ex up
mkdir "$CG"

config() { # $1 = dry_run
  cat <<YAML
chaos:
  enabled: true
  dry_run: $1
  net_loss: $LOSS
  burst_on_sec: 3600
  burst_off_sec: 0
target:
  cgroup: $CG
metrics:
  listen: "127.0.0.1:${DEMO_METRICS_PORT:-19464}"
log:
  injections: $WORK/injections.jsonl
YAML
}

# Numbered UDP probes (the kernel tests' traffic) between the engine cgroup and the other
# namespace: "out" measures the engine's outbound loss, "in" its inbound loss; each should be
# net_loss. in_cgroup runs a command inside the engine's cgroup and namespace.
in_cgroup() { sh -c "echo \$\$ > $CG/cgroup.procs; exec ip netns exec $ENG $*"; }
probe_loss() { # $1 = out|in; prints "sent lost_percent"
  local n=$PROBES port=$((5300 + RANDOM % 1000)) got
  if [ "$1" = out ]; then
    ip netns exec "$EX" "$PROBE" recv 10.78.0.2 "$port" "$n" 30 > "$WORK/recv" &
    sleep 0.2
    in_cgroup "$PROBE" send 10.78.0.2 "$port" "$n" 200
  else
    in_cgroup "$PROBE" recv 10.78.0.1 "$port" "$n" 30 > "$WORK/recv" &
    sleep 0.2
    ip netns exec "$EX" "$PROBE" send 10.78.0.1 "$port" "$n" 200
  fi
  wait $!
  got=$(awk '{print $2}' "$WORK/recv")
  echo "$n $(echo "scale=2; 100 * ($n - $got) / $n" | bc -l)"
}

run_mode() { # $1 = live|shadow
  local dry=false; [ "$1" = shadow ] && dry=true
  config "$dry" > "$WORK/chaos.yaml"
  "$MMCHAOS" run -c "$WORK/chaos.yaml" 2> "$WORK/run.log" &
  CTL=$!
  for _ in $(seq 100); do grep -q "attached to" "$WORK/run.log" && break; sleep 0.05; done
  grep -q "attached to" "$WORK/run.log" || { cat "$WORK/run.log"; exit 1; }
  read -r out_pk out_loss < <(probe_loss out)
  read -r in_pk in_loss < <(probe_loss in)
  local status; status=$("$MMCHAOS" status --json)
  kill "$CTL"; wait "$CTL" || true; CTL=
  local live shadow
  live=$(echo "$status" | jq '.attached[0].injections.net_loss.live')
  shadow=$(echo "$status" | jq '.attached[0].injections.net_loss.shadow')
  local want=$LOSS; [ "$1" = shadow ] && want=0
  printf "%-7s %9d %12.1f%% %9d %12.1f%% %10.1f%% %11d %13d\n" "$1" "$out_pk" "$out_loss" \
    "$in_pk" "$in_loss" "$(echo "$want * 100" | bc -l)" "$live" "$shadow"
}

echo
echo "mmchaos demo: net_loss=$LOSS on cgroup $CG; $PROBES UDP probes each way between it and another namespace"
printf "%-7s %9s %13s %9s %13s %11s %11s %13s\n" mode "out pkts" "out loss" "in pkts" "in loss" expected "live drops" "shadow count"
run_mode live
run_mode shadow
echo
echo "live: the kernel dropped packets (silently, both directions); shadow: the same decisions were"
echo "counted and nothing was dropped. Injection log: $(wc -l < "$WORK/injections.jsonl") JSON lines, e.g."
head -n 1 "$WORK/injections.jsonl"
echo
"$MMCHAOS" status
