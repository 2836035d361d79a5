#!/usr/bin/env bash
# Benchmark (not a test): two builds' cgroup programs on the same packets, for a data-plane change
# on a busy machine, where back-to-back runs of bench.sh differ by more than the change.
#
#   bench/ab.sh OLD_MMCHAOS NEW_MMCHAOS
#
# One controller of each build in shadow mode (net_loss 0.3, always in a burst, the iperf3
# server named as an exchange's REST endpoint, as BENCH_EXCHANGES=1 of bench.sh): one on the
# engine's cgroup, the other on a child cgroup that holds the iperf3 client, so both builds'
# mmc_egress/mmc_ingress run on every packet of the same flow. With kernel.bpf_stats_enabled=1,
# ns/packet of each (delta run_time_ns / delta run_cnt) per iperf3 round. Two passes swap which
# build is on the parent (a child's programs run before its parent's), BENCH_ROUNDS (3) rounds of
# BENCH_SECS (5) s each. Prints medians and NEW/OLD.
MMCHAOS=${MMCHAOS:-${2:-}} # lib.sh asks it where cgroup v2 is mounted: no build/ needed
source "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] && [ -x "$1" ] && [ -x "$2" ] || die "usage: bench/ab.sh OLD_MMCHAOS NEW_MMCHAOS"
command -v iperf3 >/dev/null && command -v bpftool >/dev/null || die "needs iperf3 and bpftool"
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECS:-5}
cp "$1" "$WORK/old"
cp "$2" "$WORK/new"
SYSCTL=/proc/sys/kernel/bpf_stats_enabled
STATS_OLD=$(cat "$SYSCTL")
CHILD=$CG/ab
CTLS=()
ab_cleanup() {
  local rc=$?
  for p in "${CTLS[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rmdir "$CHILD" 2>/dev/null
  echo "$STATS_OLD" > "$SYSCTL"
  (exit "$rc")
  bench_cleanup
}
trap ab_cleanup EXIT

topology
mkdir "$CHILD"
PORT=5201
bg iperf3 - "$EXC" iperf3 -s -B "$EXC_IP" -p "$PORT"
wait_listen "$EXC" "$PORT"

start() { # $1 = build (old|new), $2 = cgroup; appends the controller's pid to CTLS
  local cfg=$WORK/$1.yaml
  cat > "$cfg" <<YAML
chaos: {enabled: true, dry_run: true, net_loss: 0.3, burst_on_sec: 3600, burst_off_sec: 0}
target: {cgroup: $2, exchanges: {bench: {rest: ["http://$EXC_IP:$PORT"]}}}
metrics: {listen: "127.0.0.1:$(free_port)"}
log: {injections: $WORK/$1.jsonl}
YAML
  "$WORK/$1" run -c "$cfg" 2> "$WORK/$1.log" &
  CTLS+=($!)
  for _ in $(seq 500); do grep -q "attached to" "$WORK/$1.log" && return; sleep 0.02; done
  die "$1 did not attach: $(cat "$WORK/$1.log")"
}
prog_id() { bpftool -j cgroup show "$1" | jq -r --arg n "$2" '.[] | select(.name == $n) | .id'; }
stats() { bpftool -j prog show id "$1" | jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"'; }

echo "mmchaos A/B on the same packets: kernel $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1 /proc/loadavg)"
echo 1 > "$SYSCTL"
for pass in 1 2; do
  if [ "$pass" = 1 ]; then parent=old child=new; else parent=new child=old; fi
  start "$parent" "$CG"
  start "$child" "$CHILD"
  declare -A id=(
    ["$parent.e"]=$(prog_id "$CG" mmc_egress) ["$parent.i"]=$(prog_id "$CG" mmc_ingress)
    ["$child.e"]=$(prog_id "$CHILD" mmc_egress) ["$child.i"]=$(prog_id "$CHILD" mmc_ingress))
  for r in $(seq "$ROUNDS"); do
    declare -A t0 c0
    for k in "${!id[@]}"; do read -r "t0[$k]" "c0[$k]" < <(stats "${id[$k]}"); done
    in_cg "$CHILD" "$ENG" iperf3 -c "$EXC_IP" -p "$PORT" -t "$SECS" -O 1 > /dev/null ||
      die "iperf3 failed"
    line="  pass $pass ($parent on the parent) round $r:"
    for k in old.e new.e old.i new.i; do
      read -r t c < <(stats "${id[$k]}")
      ns=$(echo "scale=2; ($t - ${t0[$k]}) / ($c - ${c0[$k]})" | bc -l)
      echo "$ns" >> "$WORK/ns.$k"
      line+=" $k $ns"
    done
    echo "$line"
  done
  for p in "${CTLS[@]}"; do kill -TERM "$p"; wait "$p" || true; done
  CTLS=()
  unset id
done
echo "$STATS_OLD" > "$SYSCTL"
echo "Results: median ns/packet over $((2 * ROUNDS)) rounds (raw, bpf_stats' own overhead included in both)"
for d in e i; do
  o=$(median < "$WORK/ns.old.$d")
  n=$(median < "$WORK/ns.new.$d")
  printf "  %-12s old %7.1f  new %7.1f  new-old %+7.1f  new/old %.3f\n" \
    "$([ $d = e ] && echo mmc_egress || echo mmc_ingress)" "$o" "$n" "$(echo "$n - $o" | bc -l)" \
    "$(echo "$n / $o" | bc -l)"
done
