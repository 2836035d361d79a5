#!/usr/bin/env bash
# Benchmark (not a test): what clock_skew costs a clock read, inside the target and outside it,
# against nothing attached, in one run (`bench/bench.sh calls` runs this). The reader is
# tests/support/call_cost.c (glibc's clock_gettime, median of batches, timed with the raw system
# call). Rounds in ABBA order of:
#   nothing        no controller; the reader in the engine's cgroup
#   inside, on     `mmchaos run` with clock_skew_ms in a burst; the reader started by
#                  `mmchaos exec` (uprobes where the kernel allows them, else the preload)
#   inside, off    the same outside a burst (on 1 s, then off for an hour)
#   outside        the reader in another cgroup while the controller runs (on)
# The mechanism is whatever `mmchaos run` chose on this kernel (printed). Under this project's
# lockdown host it is the preload; `./scripts/vmtest.sh bench/calls.sh` measures the uprobes on
# Debian 12's 6.1 (VMTEST_KERNEL=6.12 for 6.12).
# Environment: BENCH_ROUNDS (default 3), BENCH_BATCHES (default 9), BENCH_CALLS (default 20000).
source "$(dirname "$0")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-3}
BATCHES=${BENCH_BATCHES:-9}
CALLS=${BENCH_CALLS:-20000}
READER=$PWD/build/tests/call-cost
[ -x "$READER" ] || die "$READER missing: ./scripts/build.sh"
# The private mmchaos copy (lib.sh) finds the preload next to itself.
cp "$PWD/build/userspace/libmmchaos-clock.so" "$WORK/"

topology
config() { # ON_SEC OFF_SEC
  cat > "$WORK/c.yaml" <<YAML
chaos: {enabled: true, dry_run: false, clock_skew_ms: 1500, burst_on_sec: $1, burst_off_sec: $2}
target: {cgroup: $CG}
metrics: {listen: "127.0.0.1:$(free_port)"}
log: {injections: $WORK/injections.jsonl}
YAML
}
inside() { "$MMCHAOS" exec -c "$WORK/c.yaml" -- "$READER" "$BATCHES" "$CALLS"; }
read_in() { in_cg "$1" "$ENG" "$READER" "$BATCHES" "$CALLS"; }

config 3600 0
"$MMCHAOS" validate --probe-kernel -c "$WORK/c.yaml" 2>&1 | grep -m1 "clock_skew_ms" || true
declare -A ns
add() { ns[$1]="${ns[$1]:-} $2"; }
for r in $(seq "$ROUNDS"); do
  for order in A B B A; do
    if [ "$order" = A ]; then
      add nothing "$(read_in "$CG")"
      continue
    fi
    config 3600 0
    mmchaos_start "$WORK/c.yaml"
    add inside_on "$(inside)"
    add outside "$(read_in "$CG_OTHER")"
    mmchaos_stop
    config 1 3600
    mmchaos_start "$WORK/c.yaml"
    sleep 1.2 # past the one-second burst
    add inside_off "$(inside)"
    mmchaos_stop
  done
done

med() { tr ' ' '\n' <<< "$1" | grep . | median; }
base=$(med "${ns[nothing]}")
printf '%-32s %12s %10s\n' "clock_gettime, median of rounds" "ns per call" "ratio"
for k in nothing inside_on inside_off outside; do
  v=$(med "${ns[$k]}")
  printf '%-32s %12.1f %10s\n' "$k" "$v" "x$(echo "scale=3; $v / $base" | bc)"
done
