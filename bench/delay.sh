#!/usr/bin/env bash
# Benchmark (not a test): delaying the engine's REST requests with mmchaos' lat_spike_ms against
# what a user would do by hand, `tc qdisc add dev IF root netem delay D` on the engine's
# interface (`bench/bench.sh delay` runs this). Needs sch_netem, which the dev host's kernel
# lacks: run it in the qemu lane,
#
#   ./scripts/vmtest.sh bench/delay.sh                      # Debian 12's 6.1 (clsact + u32 path)
#   VMTEST_KERNEL=6.12 ./scripts/vmtest.sh bench/delay.sh   # 6.12 (tcx + bpf_redirect path)
#
# In the topology of bench/lib.sh, two clients in the engine's netns ask the same exchange
# server over the same interface (eng0): the engine (its cgroup is mmchaos' target) and another
# process (another cgroup). Each round runs three variants, ABBA order (none, mmchaos, netem;
# then the reverse), each client BENCH_REQUESTS keep-alive requests in turn:
#   none     nothing attached, no qdisc added
#   mmchaos  `mmchaos run` with lat_spike_ms D live, always in a burst
#   netem    `tc qdisc add dev eng0 root netem delay Dms` in the engine's netns (removed after)
# and prints the medians over rounds of p50/p99 per variant and client, and the latency each
# adds over 'none': the engine's should be D under both, the other process's D under netem and
# nothing under mmchaos.
# Environment: BENCH_DELAY_MS (D, default 20), BENCH_ROUNDS (default 2), BENCH_REQUESTS (per
# client per variant per round, default 150: a delayed request takes D), MMCHAOS.
source "$(dirname "$0")/lib.sh"

D=${BENCH_DELAY_MS:-20}
ROUNDS=${BENCH_ROUNDS:-2}
N=${BENCH_REQUESTS:-150}
WARMUP=20
VARIANTS=(none mmchaos netem)

topology
PORT=8080
bg server - "$EXC" "$PY" bench/reqload.py server "$EXC_IP" "$PORT"
wait_listen "$EXC" "$PORT"

# The engine's netns is a scratch one: its eng0 qdisc is ours to change (never the root ns').
tc -n "$ENG" qdisc add dev eng0 root netem delay "${D}ms" 2> "$WORK/tc.err" ||
  die "netem qdisc refused ($(cat "$WORK/tc.err")): this kernel lacks sch_netem; run ./scripts/vmtest.sh bench/delay.sh"
tc -n "$ENG" qdisc del dev eng0 root

cat > "$WORK/delay.yaml" <<YAML
chaos: {enabled: true, dry_run: false, lat_spike_ms: $D, burst_on_sec: 3600, burst_off_sec: 0}
target:
  cgroup: $CG
  netns: /run/netns/$ENG
  interfaces: [eng0]
  exchanges: {bench: {rest: ["http://$EXC_IP:$PORT"]}}
metrics: {listen: "127.0.0.1:$(free_port)"}
log: {injections: $WORK/injections.jsonl}
YAML

client() { # $1 = cgroup; prints "p50 p99"
  local out
  out=$(in_cg "$1" "$ENG" "$PY" bench/reqload.py client "$EXC_IP" "$PORT" "$N" "$WARMUP") ||
    die "client failed: $out"
  jq -r '"\(.p50_us / 1000) \(.p99_us / 1000)"' <<< "$out"
}

run_variant() { # $1 = variant, $2 = round
  local e o
  case $1 in
    mmchaos) mmchaos_start "$WORK/delay.yaml" "tc hook up" ;;
    netem) tc -n "$ENG" qdisc add dev eng0 root netem delay "${D}ms" limit 10000 ;;
  esac
  e=$(client "$CG")
  o=$(client "$CG_OTHER")
  case $1 in
    mmchaos) mmchaos_stop ;;
    netem) tc -n "$ENG" qdisc del dev eng0 root ;;
  esac
  echo "$e" >> "$WORK/eng.$1"
  echo "$o" >> "$WORK/oth.$1"
  printf "  round %d %-8s engine p50 %7.2f ms p99 %7.2f ms   other process p50 %7.2f ms p99 %7.2f ms\n" \
    "$2" "$1" $e $o
}

echo "mmchaos delay benchmark: kernel $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "lat_spike_ms $D vs netem delay ${D}ms on eng0; $N requests per client per variant per round, $ROUNDS rounds, ABBA order"
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then order=(none mmchaos netem); else order=(netem mmchaos none); fi
  for v in "${order[@]}"; do run_variant "$v" "$r"; done
done

col() { awk -v c="$2" '{print $c}' "$WORK/$1" | median; }
echo
echo "Results: medians over $ROUNDS rounds of p50/p99 (ms); +ms = over 'none' of this run"
printf "%-9s %-14s %9s %9s %9s %9s\n" variant client p50 "+p50" p99 "+p99"
for v in "${VARIANTS[@]}"; do
  for c in eng oth; do
    printf "%-9s %-14s %9.2f %+9.2f %9.2f %+9.2f\n" "$v" "$([ $c = eng ] && echo engine || echo other-process)" \
      "$(col "$c.$v" 1)" "$(echo "$(col "$c.$v" 1) - $(col "$c.none" 1)" | bc -l)" \
      "$(col "$c.$v" 2)" "$(echo "$(col "$c.$v" 2) - $(col "$c.none" 2)" | bc -l)"
  done
done
