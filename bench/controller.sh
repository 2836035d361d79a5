#!/usr/bin/env bash
# Benchmark (not a test): what the controller itself costs (`bench/bench.sh controller` runs
# this). In the scratch topology of bench/lib.sh, with the exchange named and the tc hook on the
# engine's veth (the shadow config of bench/requests.sh):
#   - time from `mmchaos run` to "attached to" (cgroup programs) and to "tc hook up", median of
#     BENCH_STARTS starts, and the share of it that is parsing the kernel's BTF: libbpf parses
#     /sys/kernel/btf/vmlinux once per CO-RE object load; bench/btf_parse.c times that parse in a
#     fresh process (as the controller's is), and strace counts how often the controller opens
#     the file
#   - resident memory (VmRSS, VmHWM) once attached; idle CPU over BENCH_IDLE_SECS with no
#     traffic (utime+stime from /proc/PID/stat); the time of a Prometheus scrape (curl
#     time_total, median of 20) and its size
# Environment: BENCH_STARTS (default 7), BENCH_IDLE_SECS (default 20), MMCHAOS. About 40 s.
source "$(dirname "$0")/lib.sh"

STARTS=${BENCH_STARTS:-7}
IDLE=${BENCH_IDLE_SECS:-20}
command -v strace >/dev/null || die "strace not found"
command -v gcc >/dev/null || die "gcc not found: run ./scripts/install-deps.sh"

topology
gcc -O2 -Wall -Wextra -Werror bench/btf_parse.c -o "$WORK/btf_parse" $(pkg-config --cflags --libs libbpf)

METRICS_PORT=$(free_port)
cat > "$WORK/cg.yaml" <<YAML
chaos: {enabled: true, dry_run: true, net_loss: 0.3, burst_on_sec: 3600, burst_off_sec: 0}
target: {cgroup: $CG}
metrics: {listen: "127.0.0.1:$METRICS_PORT"}
log: {injections: $WORK/injections.jsonl}
YAML
cat > "$WORK/tc.yaml" <<YAML
chaos: {enabled: true, dry_run: true, exch_429: 0.3, burst_on_sec: 3600, burst_off_sec: 0}
target:
  cgroup: $CG
  netns: /run/netns/$ENG
  interfaces: [eng0]
  exchanges: {bench: {rest: ["http://$EXC_IP:8080"]}}
metrics: {listen: "127.0.0.1:$METRICS_PORT"}
log: {injections: $WORK/injections.jsonl}
YAML

echo "mmchaos controller benchmark: kernel $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1 /proc/loadavg)"
: > "$WORK/start.cg"
: > "$WORK/start.tc"
for i in $(seq "$STARTS"); do
  mmchaos_start "$WORK/cg.yaml"
  echo "$START_MS" >> "$WORK/start.cg"
  mmchaos_stop
  mmchaos_start "$WORK/tc.yaml" "tc hook up"
  echo "$START_MS" >> "$WORK/start.tc"
  mmchaos_stop
  "$WORK/btf_parse" 1 >> "$WORK/btf"
done
echo "  start -> attached (ms): cgroup only $(tr '\n' ' ' < "$WORK/start.cg"); with tc hook $(tr '\n' ' ' < "$WORK/start.tc")"
echo "  BTF parse in a fresh process (ms): $(tr '\n' ' ' < "$WORK/btf")"

# How many times a start reads the kernel's BTF (one parse per read of the whole file).
strace -f -qq -e trace=openat -o "$WORK/strace" "$MMCHAOS" run -c "$WORK/tc.yaml" 2> "$WORK/run.log" &
STRACE=$!
PIDS+=("$STRACE")
for _ in $(seq 500); do grep -q "tc hook up" "$WORK/run.log" && break; sleep 0.02; done
kill -TERM "$(pgrep -P "$STRACE")" # the controller, strace's child: it ends strace too
wait "$STRACE" || die "mmchaos under strace failed: $(cat "$WORK/run.log")"
BTF_OPENS=$(grep -c '"/sys/kernel/btf/vmlinux"' "$WORK/strace" || true)

# Resident memory, idle CPU and scrape time, attached with the tc hook up, no traffic.
mmchaos_start "$WORK/tc.yaml" "tc hook up"
sleep 2
t0=$(cpu_ticks "$CTL")
sleep "$IDLE"
t1=$(cpu_ticks "$CTL")
RSS=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$CTL/status")
HWM=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$CTL/status")
: > "$WORK/scrape"
for _ in $(seq 20); do
  curl -s -o "$WORK/metrics.txt" -w '%{time_total}\n' "http://127.0.0.1:$METRICS_PORT/metrics" >> "$WORK/scrape"
done
mmchaos_stop

HZ=$(getconf CLK_TCK)
CG_MS=$(median < "$WORK/start.cg")
TC_MS=$(median < "$WORK/start.tc")
BTF_MS=$(median < "$WORK/btf")
echo
echo "Results (medians)"
printf "%-52s %10s\n" metric measured
printf "%-52s %10.0f\n" "mmchaos run -> attached, cgroup programs (ms)" "$CG_MS"
printf "%-52s %10.0f\n" "mmchaos run -> tc hook up too (ms)" "$TC_MS"
printf "%-52s %10.1f\n" "  one parse of vmlinux BTF, fresh process (ms)" "$BTF_MS"
printf "%-52s %10d\n" "  reads of /sys/kernel/btf/vmlinux per start" "$BTF_OPENS"
printf "%-52s %9.0f%%\n" "  BTF parsing share of run -> attached" "$(echo "100 * $BTF_OPENS * $BTF_MS / $CG_MS" | bc -l)"
printf "%-52s %10.1f\n" "resident memory, VmRSS (MiB)" "$(echo "$RSS / 1024" | bc -l)"
printf "%-52s %10.1f\n" "  peak, VmHWM (MiB)" "$(echo "$HWM / 1024" | bc -l)"
printf "%-52s %9.2f%%\n" "idle CPU over $IDLE s (% of one core)" "$(echo "100 * ($t1 - $t0) / $HZ / $IDLE" | bc -l)"
printf "%-52s %10.2f\n" "scrape time, /metrics (ms)" "$(awk '{print $1 * 1000}' "$WORK/scrape" | median)"
printf "%-52s %10d\n" "  scrape size (bytes)" "$(wc -c < "$WORK/metrics.txt")"
