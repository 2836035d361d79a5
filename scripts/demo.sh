#!/usr/bin/env bash
# The main job: install, build, then put the bundled reference target on this machine and run a
# chaos experiment for every scenario this kernel supports, ending in a report.
#
#   exchange netns  dnsmasq (api/stream.mock-exchange.test) + mock-exchange (HTTPS + WSS, a
#                   throwaway CA made at run time; DEMO_TLS=0 for plaintext)
#   engine netns    ref-engine, in its own cgroup v2 (mmchaos's target), resolving the exchange
#                   through that dnsmasq
#
# For each scenario `mmchaos doctor` says this kernel runs: `mmchaos experiment` (baseline in
# shadow mode, bursts live, recovery). Then `mmchaos report` and `mmchaos findings`. Output:
# artifacts/chaos/{chaos.yaml,runs/,report.md,charts,findings.json}. Scenarios the kernel cannot
# run are listed as skipped with doctor's reason. Everything it creates (namespaces, cgroup,
# processes, /etc/netns/<ns>) is removed on exit, however it exits.
#
# Environment: DEMO_OUT (default artifacts/chaos), DEMO_SCENARIOS (space-separated subset),
# DEMO_BURSTS (default 3), DEMO_TLS (default 1: the exchange speaks HTTPS/WSS, as real ones do),
# DEMO_KEEP=1 keeps the work directory (logs).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "demo.sh needs root (CAP_BPF, CAP_NET_ADMIN)" >&2; exit 1; }
./scripts/install-deps.sh
./scripts/build.sh >/dev/null
ROOT=$PWD
MMCHAOS=$ROOT/build/userspace/mmchaos
EXCHANGE=$ROOT/build/reference/mock-exchange
ENGINE=$ROOT/build/reference/ref-engine
OUT=${DEMO_OUT:-artifacts/chaos}
TLS=${DEMO_TLS:-1}

ENG=mmc-demo-eng-$$ EX=mmc-demo-ex-$$
ENG_IP=10.78.0.1 EX_IP=10.78.0.2
CG=""  # the engine's cgroup, under the cgroup v2 mount doctor names
WORK=$(mktemp -d /tmp/mmchaos-demo-XXXXXX)
PIDS=()

cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ -d "$CG" ]; then
    for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    sleep 0.2; rmdir "$CG" 2>/dev/null
  fi
  ip netns pids "$EX" 2>/dev/null | xargs -r kill -9 2>/dev/null
  ip netns del "$ENG" 2>/dev/null
  ip netns del "$EX" 2>/dev/null
  rm -rf "/etc/netns/$ENG"
  [ -n "${DEMO_KEEP:-}" ] && echo "demo: logs kept in $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# What this kernel runs, and where mmchaos finds the cgroup v2 hierarchy (the engine's goes there).
"$MMCHAOS" doctor --json > "$WORK/doctor.json"
CG2=$(jq -r '.cgroup2 // empty' "$WORK/doctor.json")
[ -n "$CG2" ] || { echo "demo: $(jq -r '.probes[] | select(.name=="cgroup2") | .detail' \
  "$WORK/doctor.json")" >&2; exit 1; }
CG=$CG2/mmchaos-demo-$$

# --- the topology -------------------------------------------------------------------------------
ip netns add "$ENG"; ip netns add "$EX"
ip -n "$ENG" link add veth-eng type veth peer name veth-ex netns "$EX"
ip -n "$ENG" addr add $ENG_IP/24 dev veth-eng; ip -n "$ENG" link set veth-eng up
ip -n "$ENG" link set lo up
ip -n "$EX" addr add $EX_IP/24 dev veth-ex; ip -n "$EX" link set veth-ex up
ip -n "$EX" link set lo up
mkdir "$CG"
# `ip netns exec $ENG` bind-mounts this over /etc/resolv.conf: the engine asks the exchange's DNS.
mkdir -p "/etc/netns/$ENG"
echo "nameserver $EX_IP" > "/etc/netns/$ENG/resolv.conf"

# --- the exchange: DNS, REST, WebSocket ----------------------------------------------------------
ip netns exec "$EX" dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
  --listen-address=$EX_IP --port=53 --user=root --pid-file="$WORK/dnsmasq.pid" \
  --address=/api.mock-exchange.test/$EX_IP --address=/stream.mock-exchange.test/$EX_IP \
  --log-facility="$WORK/dnsmasq.log" &
PIDS+=($!)
HTTP=http WS=ws EXCHANGE_TLS=() ENGINE_TLS=()
if [ "$TLS" = 1 ]; then
  # A CA made now and thrown away with $WORK: the engine trusts it, nothing else does.
  ./scripts/make-pki.sh "$WORK/pki" api.mock-exchange.test stream.mock-exchange.test $EX_IP
  HTTP=https WS=wss
  EXCHANGE_TLS=(--tls-cert "$WORK/pki/server.pem" --tls-key "$WORK/pki/server.key")
  ENGINE_TLS=(--ca-file "$WORK/pki/ca.pem")
fi
ip netns exec "$EX" "$EXCHANGE" --listen $EX_IP --rest-port 8080 --ws-port 8081 --rate 200 \
  --burst 400 --latency-ms 20 --tick-ms 50 --order-log "$WORK/orders.jsonl" \
  --ready-file "$WORK/exchange.ready" "${EXCHANGE_TLS[@]}" 2> "$WORK/exchange.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/exchange.ready" ] && break; sleep 0.05; done
[ -s "$WORK/exchange.ready" ] || { cat "$WORK/exchange.log"; exit 1; }

# --- the experiment config ------------------------------------------------------------------------
mkdir -p "$OUT"
rm -rf "$OUT/runs" "$OUT"/report*.svg "$OUT/report.md" "$OUT/findings.json"
cat > "$OUT/chaos.yaml" <<YAML
# Written by scripts/demo.sh: every scenario's intensity; each experiment runs one of them alone.
chaos:
  enabled: false       # the experiment switches on the one scenario it runs
  dry_run: false
  net_loss: 0.2
  exch_429: 0.3
  exch_5xx: 0.3
  lat_spike_ms: 150
  ws_lag_ms: 200
  ws_disconnect: 0.5
  dns_flap: 0.5
  clock_skew_ms: 1500
  mem_pressure: medium
  rate_limit_storm: 0.5
  reconcile_mismatch: 0.3
  burst_on_sec: 2
  burst_off_sec: 3
target:
  cgroup: $CG
  netns: /run/netns/$ENG
  interfaces: [veth-eng]
  exchanges:
    mock:
      # The names the engine uses (its TLS Host header and SNI). The engine resolves them through
      # dnsmasq (dns_flap acts on those queries); this host's resolver does not know them, so
      # mmchaos is given their address.
      rest: ["$HTTP://api.mock-exchange.test:8080"]
      ws: ["$WS://stream.mock-exchange.test:8081/ws"]
      resolve: {api.mock-exchange.test: [$EX_IP], stream.mock-exchange.test: [$EX_IP]}
      order_requests: ["POST /api/v3/order"]
  dns_ports: [53]
  tick_ms: 100
  deadline_ms: 200
  metrics_url: "http://$ENG_IP:9470/metrics"
acceptance:
  p95_regression_max_pct: 15
  deadline_miss_max_pct: 2
  recovery_ticks_max: 3
  lat_spike_p99_max_ms: 250
  discrepancies_all_detected: true
rollback_triggers:
  # The engine stopped trading: not one REST request for 3 s.
  - {name: engine-stalled, metric: requests, op: "<", value: 1, window_ticks: 30}
experiment:
  baseline_ticks: 30
  bursts: ${DEMO_BURSTS:-3}
  recovery_ticks: 30
metrics:
  listen: "127.0.0.1:${DEMO_METRICS_PORT:-19464}"
log:
  injections: $WORK/injections.jsonl
YAML

# --- the engine, in its cgroup and namespace ---------------------------------------------------------
ENGINE_ARGS=(--rest-url $HTTP://api.mock-exchange.test:8080 --ws-url $WS://stream.mock-exchange.test:8081/ws
  "${ENGINE_TLS[@]}" --tick-ms 100 --deadline-ms 200 --resolve-every-sec 1 --resolve-timeout-ms 500
  --metrics-listen $ENG_IP:9470 --stats-json "$WORK/engine-stats.json")
if "$MMCHAOS" --help | grep -qE "^  exec "; then
  # `mmchaos exec` places it in target.cgroup and target.netns (and, where the kernel forbids
  # clock_skew's uprobes, preloads the clock shim).
  "$MMCHAOS" exec -c "$OUT/chaos.yaml" -- ip netns exec "$ENG" "$ENGINE" "${ENGINE_ARGS[@]}" \
    2> "$WORK/engine.log" &
else
  sh -c "echo \$\$ > $CG/cgroup.procs; exec ip netns exec $ENG $ENGINE ${ENGINE_ARGS[*]}" \
    2> "$WORK/engine.log" &
fi
PIDS+=($!)
for _ in $(seq 100); do
  curl -sf "http://$ENG_IP:9470/metrics" --noproxy '*' -o /dev/null 2>/dev/null && break
  ip netns exec "$ENG" curl -sf "http://$ENG_IP:9470/metrics" -o /dev/null && break
  sleep 0.1
done
sleep 1  # a few ticks of normal trading before the first baseline

# --- one experiment per scenario the kernel runs -------------------------------------------------------
want=${DEMO_SCENARIOS:-$(jq -r '.scenarios[].scenario' "$WORK/doctor.json")}
skipped=()
echo
echo "mmchaos demo: reference engine (cgroup $CG) vs mock exchange over $HTTP/$WS;" \
  "experiments: ${want//$'\n'/ }"
for scn in $want; do
  supported=$(jq -r --arg s "$scn" '.scenarios[] | select(.scenario==$s) | .supported' "$WORK/doctor.json")
  if [ "$supported" != true ]; then
    reason=$(jq -r --arg s "$scn" '.scenarios[] | select(.scenario==$s) | .reason' "$WORK/doctor.json")
    skipped+=("$scn: $reason")
    continue
  fi
  echo "--- experiment: $scn"
  "$MMCHAOS" experiment -c "$OUT/chaos.yaml" --scenario "$scn" --out "$OUT" 2>&1 |
    grep --line-buffered -E "experiment: |error|warning" || true
done

# --- the report ------------------------------------------------------------------------------------
ls "$OUT"/runs/*.json >/dev/null 2>&1 || { echo "demo: no run was written" >&2; exit 1; }
"$MMCHAOS" report --runs "$OUT/runs" --output "$OUT/report.md"
"$MMCHAOS" findings --report "$OUT/report.md" --output "$OUT/findings.json"
echo
awk '/^\| Scenario \| Intensity/{on=1} on && /^\|/{print; next} on{exit}' "$OUT/report.md"
echo
for s in "${skipped[@]}"; do echo "skipped: $s"; done
echo
echo "report:   $OUT/report.md ($(ls "$OUT"/*.svg 2>/dev/null | wc -l) charts)"
echo "findings: $OUT/findings.json ($(jq ".findings | length" "$OUT/findings.json") findings)"
echo "runs:     $OUT/runs/"
