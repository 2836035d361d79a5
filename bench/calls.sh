#!/usr/bin/env bash
# Benchmark (not a test): what mmchaos' per-process mechanisms cost a library call, inside the
# target and outside it, against nothing attached, in one run (`bench/bench.sh calls` runs this).
# Two calls, each with the scenario that hooks it:
#   clock_gettime  clock_skew_ms: 1500 (glibc's clock_gettime; reader tests/support/call_cost.c)
#   SSL_read       exch_429: 0.3 on an https:// exchange (one SSL_read of a 64-byte record on an
#                  established TLS 1.3 connection; reader ssl-read-cost, the same program. Its
#                  reads are not responses from the exchange: what the hook costs every read)
# Each the median of batches, timed with the raw system call. Rounds in ABBA order of:
#   nothing        no controller; the reader in the engine's cgroup
#   inside, on     `mmchaos run` with the scenario in a burst; the reader started by
#                  `mmchaos exec` (uprobes where the kernel allows them, else the preload)
#   inside, off    the same outside a burst (on 1 s, then off for an hour)
#   outside        the reader in another cgroup while the controller runs (on)
# The mechanism is whatever `mmchaos run` chose on this kernel (printed). Under this project's
# lockdown host it is the preload; `./scripts/vmtest.sh bench/calls.sh` measures the uprobes on
# Debian 12's 6.1 (VMTEST_KERNEL=6.12 for 6.12).
# Environment: BENCH_ROUNDS (default 3), BENCH_BATCHES (default 9), BENCH_CALLS (default 20000
# clock reads; SSL_read batches are a tenth of it), BENCH_CALL (clock_gettime, ssl_read or both,
# the default), BENCH_CPU (the CPU every reader runs on; default the last).
source "$(dirname "$0")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-3}
BATCHES=${BENCH_BATCHES:-9}
CALLS=${BENCH_CALLS:-20000}
WHICH=${BENCH_CALL:-both}
# Every reader on one CPU: this VM's two vCPUs differ (SSL_read 780 ns on cpu0, 477 on cpu1, the
# same binary), so a reader the scheduler placed was a coin flip between them.
CPU=${BENCH_CPU:-$(($(nproc) - 1))}
READER=$PWD/build/tests/call-cost
[ -x "$READER" ] || die "$READER missing: ./scripts/build.sh"
# The private mmchaos copy (lib.sh) finds the preload next to itself.
cp "$PWD/build/userspace/libmmchaos-clock.so" "$WORK/"

topology
config() { # CALL ON_SEC OFF_SEC
  local scenario="clock_skew_ms: 1500" exchanges=""
  if [ "$1" = ssl_read ]; then
    scenario="exch_429: 0.3"
    exchanges="
  netns: /run/netns/$ENG
  interfaces: [eng0]
  exchanges: {testnet: {rest: [\"https://$EXC_IP:8443\"]}}"
  fi
  cat > "$WORK/c.yaml" <<YAML
chaos: {enabled: true, dry_run: false, $scenario, burst_on_sec: $2, burst_off_sec: $3}
target:
  cgroup: $CG$exchanges
metrics: {listen: "127.0.0.1:$(free_port)"}
log: {injections: $WORK/injections.jsonl}
YAML
}

# bench CALL N: the four variants' medians for one call, N calls a batch, printed as a table.
bench() {
  local call=$1 n=$2
  local -A ns
  add() { ns[$1]="${ns[$1]:-} $2"; }
  inside() { taskset -c "$CPU" "$MMCHAOS" exec -c "$WORK/c.yaml" -- "$READER" --call "$call" "$BATCHES" "$n"; }
  read_in() { in_cg "$1" "$ENG" taskset -c "$CPU" "$READER" --call "$call" "$BATCHES" "$n"; }
  config "$call" 3600 0
  "$MMCHAOS" validate --probe-kernel -c "$WORK/c.yaml" 2>&1 | grep -m1 -E "clock_skew_ms|exch_429" || true
  for r in $(seq "$ROUNDS"); do
    for order in A B B A; do
      if [ "$order" = A ]; then
        add nothing "$(read_in "$CG")"
        continue
      fi
      config "$call" 3600 0
      mmchaos_start "$WORK/c.yaml"
      add inside_on "$(inside)"
      add outside "$(read_in "$CG_OTHER")"
      mmchaos_stop
      grep -m1 -E "uprobes on|preload" "$WORK/run.log" || true
      config "$call" 1 3600
      mmchaos_start "$WORK/c.yaml"
      sleep 1.2 # past the one-second burst
      add inside_off "$(inside)"
      mmchaos_stop
    done
  done
  med() { tr ' ' '\n' <<< "$1" | grep . | median; }
  local base v
  base=$(med "${ns[nothing]}")
  printf '%-32s %12s %10s\n' "$call, median of rounds" "ns per call" "ratio"
  for k in nothing inside_on inside_off outside; do
    v=$(med "${ns[$k]}")
    printf '%-32s %12.1f %10s\n' "$k" "$v" "x$(echo "scale=3; $v / $base" | bc)"
  done
}

case "$WHICH" in
  clock_gettime) bench clock_gettime "$CALLS" ;;
  ssl_read) bench ssl_read $((CALLS / 10)) ;;
  both)
    bench clock_gettime "$CALLS"
    bench ssl_read $((CALLS / 10))
    ;;
  *) die "BENCH_CALL: clock_gettime, ssl_read or both, not $WHICH" ;;
esac
