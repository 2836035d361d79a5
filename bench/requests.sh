#!/usr/bin/env bash
# Benchmark (not a test): what each way of injecting faults costs a REST request that it does
# not fault, side by side in one run (`bench/bench.sh requests` runs this).
#
# An engine (bench/reqload.py client: one keep-alive connection, BENCH_REQUESTS requests back
# to back) in its own netns and cgroup v2 asks an exchange (reqload.py server) in another netns,
# over a veth pair. Each round measures four variants, in ABBA order (none, shadow, live,
# haproxy; then the reverse):
#   none     nothing attached to the engine's cgroup or interface (the baseline)
#   shadow   `mmchaos run` with the exchange named (request accounting on), exch_429 0.3 in
#            shadow mode, always in a burst: every response takes the full decision path
#   live     `mmchaos run`, exch_429 0.3 live, measured outside a burst (0.1 s burst at start,
#            then off for a day): what an armed but idle injector costs
#   haproxy  HAProxy (Debian's) on the engine's host, in the engine's netns: the engine talks to
#            it over loopback, it forwards over the veth with kept-alive server connections, and
#            an `http-request return status 429 if { rand(100) lt 0 }` rule that never fires.
#            The way Toxiproxy or Envoy's fault filter would sit
# and prints, per variant, the medians over the rounds of each round's p50 and p99, their ratios
# against the baseline of the same run, and the CPU time per request of the client, the server
# and the proxy or the controller (utime+stime deltas from /proc/PID/stat, summed over rounds).
#
# Environment: BENCH_ROUNDS (default 4: each variant runs 4 times), BENCH_REQUESTS (per round,
# default 5000; at least 3000), BENCH_WARMUP (unmeasured requests first, default 300),
# BENCH_CPUS ("C,S": client on CPU C, server on CPU S, default 0,1; "none": not pinned),
# MMCHAOS (binary, default build/userspace/mmchaos). About 1 minute.
#
# BENCH_TLS=1: the same over HTTPS (a throwaway CA from scripts/make-pki.sh; the client is
# CPython's ssl module, OpenSSL). shadow and live then start the client through `mmchaos exec`:
# the TLS rewrites' preload wraps its SSL_read_ex/SSL_write_ex and decides every response
# (shadow) or none (live, outside a burst), while the kernel's hooks do their accounting as on
# plaintext; HAProxy terminates the client's TLS and re-originates TLS to the exchange (verified
# against the CA), as a TLS-terminating fault proxy must to see a status line.
source "$(dirname "$0")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-4}
N=${BENCH_REQUESTS:-5000}
WARMUP=${BENCH_WARMUP:-300}
[ "$N" -ge 3000 ] || die "BENCH_REQUESTS must be at least 3000"
# Client on one CPU, server on the other (taskset on those two only), as bench.sh does: left to
# the scheduler, whether they share a CPU flips from round to round and p50 with it (26 vs 35 us
# here). HAProxy and the controller go wherever the scheduler puts them.
TLS=${BENCH_TLS:-0}
CPUS=${BENCH_CPUS:-0,1}
[ "$(nproc)" -ge 2 ] || CPUS=none
PIN_CLI=() PIN_SRV=()
if [ "$CPUS" != none ]; then PIN_CLI=(taskset -c "${CPUS%,*}") PIN_SRV=(taskset -c "${CPUS#*,}"); fi
command -v haproxy >/dev/null || die "haproxy not found: run ./scripts/install-deps.sh"
command -v bpftool >/dev/null || die "bpftool not found: run ./scripts/install-deps.sh"
VARIANTS=(none shadow live haproxy)

topology
PORT=8080
HPORT=8081
SCHEME=http
SRV_ENV=() CLI_ENV=() HBIND='' HSERVER=''
if [ "$TLS" = 1 ]; then
  scripts/make-pki.sh "$WORK/pki" "$EXC_IP" 127.0.0.1 >/dev/null
  cat "$WORK/pki/server.pem" "$WORK/pki/server.key" > "$WORK/pki/haproxy.pem"
  SCHEME=https
  SRV_ENV=(env REQLOAD_CERT="$WORK/pki/server.pem" REQLOAD_KEY="$WORK/pki/server.key")
  CLI_ENV=(env REQLOAD_CA="$WORK/pki/ca.pem")
  HBIND=" ssl crt $WORK/pki/haproxy.pem"
  HSERVER=" ssl verify required ca-file $WORK/pki/ca.pem"
fi
bg server - "$EXC" "${SRV_ENV[@]}" "${PIN_SRV[@]}" "$PY" bench/reqload.py server "$EXC_IP" "$PORT"
SRV=$BG
wait_listen "$EXC" "$PORT"

cat > "$WORK/haproxy.cfg" <<CFG
global
  nbthread 1
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend engine
  bind 127.0.0.1:$HPORT$HBIND
  http-request return status 429 if { rand(100) lt 0 }
  default_backend exchange
backend exchange
  server exchange $EXC_IP:$PORT$HSERVER
CFG
haproxy -c -q -f "$WORK/haproxy.cfg" || die "haproxy refused its config"
bg haproxy "$CG_OTHER" "$ENG" haproxy -db -f "$WORK/haproxy.cfg"
PROXY=$BG
wait_listen "$ENG" "$HPORT"

METRICS_PORT=$(free_port)
chaos_yaml() { # $1 = file, $2 = the chaos: line
  cat > "$1" <<YAML
chaos: $2
target:
  cgroup: $CG
  netns: /run/netns/$ENG
  interfaces: [eng0]
  exchanges: {bench: {rest: ["$SCHEME://$EXC_IP:$PORT"]}}
metrics: {listen: "127.0.0.1:$METRICS_PORT"}
log: {injections: $WORK/injections.jsonl}
YAML
}
chaos_yaml "$WORK/shadow.yaml" \
  "{enabled: true, dry_run: true, exch_429: 0.3, burst_on_sec: 3600, burst_off_sec: 0}"
chaos_yaml "$WORK/live.yaml" \
  "{enabled: true, dry_run: false, exch_429: 0.3, burst_on_sec: 0.1, burst_off_sec: 86400}"

injections() { # $1 = mode: the controller's exch_429 count
  curl -s "http://127.0.0.1:$METRICS_PORT/metrics" |
    awk -v m="$1" '/^mm_chaos_injections_total\{/ && /scenario="exch_429"/ && $0 ~ "mode=\"" m "\"" {s += $2} END {print s + 0}'
}

cg_progs() { bpftool -j cgroup show "$CG" 2>/dev/null | jq -r '.[].name'; }

# One round of one variant: appends "p50 p99 mean n client_ticks server_ticks third_ticks"
# to $WORK/res.VARIANT.
run_variant() {
  local v=$1 host=$EXC_IP port=$PORT third='' s0 t0 s1 t1 out shadow=0
  case $v in
    none) [ -z "$(cg_progs)" ] || die "programs attached to $CG in a baseline round: $(cg_progs)" ;;
    shadow | live)
      mmchaos_start "$WORK/$v.yaml" "$([ "$TLS" = 1 ] && echo "tls: preload" || echo "tc hook up")"
      third=$CTL
      sleep 0.5 # metrics up; for live, the 0.1 s burst is over
      ;;
    haproxy) host=127.0.0.1 port=$HPORT third=$PROXY ;;
  esac
  s0=$(cpu_ticks "$SRV")
  t0=$([ -n "$third" ] && cpu_ticks "$third" || echo 0)
  local client=("${CLI_ENV[@]}" "${PIN_CLI[@]}" "$PY" bench/reqload.py client "$host" "$port" "$N" "$WARMUP")
  if [ "$TLS" = 1 ] && { [ "$v" = shadow ] || [ "$v" = live ]; }; then
    # The preload: `mmchaos exec` places the client in the cgroup and netns itself.
    out=$("$MMCHAOS" exec -c "$WORK/$v.yaml" -- "${client[@]}") || die "client failed ($v): $out"
  else
    out=$(in_cg "$CG" "$ENG" "${client[@]}") || die "client failed ($v): $out"
  fi
  s1=$(cpu_ticks "$SRV")
  t1=$([ -n "$third" ] && cpu_ticks "$third" || echo 0)
  [ "$(jq -r '.statuses["200"] // 0' <<< "$out")" = "$N" ] ||
    die "$v: not every response was 200: $(jq -c .statuses <<< "$out")"
  if [ "$v" = shadow ] || [ "$v" = live ]; then
    # The preload's counts reach the metrics on the controller's next tick.
    for _ in 1 2 3 4 5 6; do
      [ "$v" = shadow ] && shadow=$(injections shadow)
      [ "$v" != shadow ] || [ "$shadow" != 0 ] && break
      sleep 0.5
    done
    [ "$v" = live ] && [ "$(injections live)" != 0 ] && die "live: exch_429 injected outside a burst"
    [ "$v" = shadow ] && [ "$shadow" = 0 ] && die "shadow: no exch_429 decisions counted"
    mmchaos_stop
  fi
  jq -r --arg s "$((s1 - s0))" --arg t "$((t1 - t0))" \
    '"\(.p50_us) \(.p99_us) \(.mean_us) \(.n) \(.cpu_ticks) \($s) \($t)"' <<< "$out" >> "$WORK/res.$v"
  printf "  round %d %-8s p50 %7.1f us  p99 %7.1f us%s\n" "$2" "$v" \
    "$(jq -r .p50_us <<< "$out")" "$(jq -r .p99_us <<< "$out")" \
    "$([ "$v" = shadow ] && echo "  (exch_429 shadow decisions so far: $shadow)")"
}

echo "mmchaos request benchmark: kernel $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ), $(haproxy -v | awk 'NR == 1 {print $1, $2, $3}')"
echo "REST ($SCHEME) over veth $ENG -> $EXC, keep-alive, $N requests per round (+$WARMUP warm-up), $ROUNDS rounds, ABBA order"
load0=$(awk '{print $1}' /proc/loadavg)
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then order=("${VARIANTS[@]}"); else order=(haproxy live shadow none); fi
  for v in "${order[@]}"; do run_variant "$v" "$r"; done
done

HZ=$(getconf CLK_TCK)
col() { awk -v c="$2" '{print $c}' "$WORK/res.$1" | median; }
cpu_us() { # variant, column: CPU us per request, summed over the rounds
  awk -v c="$2" -v hz="$HZ" '{t += $c; n += $4} END {printf "%.1f", t * 1e6 / hz / n}' "$WORK/res.$1"
}
B50=$(col none 1)
B99=$(col none 2)
echo
echo "Results: medians over $ROUNDS rounds of each round's p50 and p99; ratios against 'none' of this run;"
echo "CPU us/request = (utime+stime) deltas of /proc/PID/stat over all rounds / requests (10 ms ticks)"
printf "%-9s %9s %9s %9s %9s %9s %9s %9s %9s %11s\n" variant "p50 us" "p50 x" "+p50 us" "p99 us" "p99 x" \
  "+p99 us" "client" "server" "proxy/ctl"
for v in "${VARIANTS[@]}"; do
  p50=$(col "$v" 1)
  p99=$(col "$v" 2)
  printf "%-9s %9.1f %9.3f %+9.1f %9.1f %9.3f %+9.1f %9s %9s %11s\n" "$v" "$p50" \
    "$(echo "$p50 / $B50" | bc -l)" "$(echo "$p50 - $B50" | bc -l)" "$p99" \
    "$(echo "$p99 / $B99" | bc -l)" "$(echo "$p99 - $B99" | bc -l)" \
    "$(cpu_us "$v" 5)" "$(cpu_us "$v" 6)" "$([ "$v" = none ] && echo - || cpu_us "$v" 7)"
done
echo "load average at start $load0, at end $(awk '{print $1}' /proc/loadavg) (other work on the machine skews all variants)"
