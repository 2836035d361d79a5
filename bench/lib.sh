# Shared by bench/requests.sh, bench/controller.sh and bench/delay.sh (sourced, not run): the
# scratch topology, the exit trap that removes it, and the helpers every mode uses.
#
# Topology: netns mmcb-eng-PID (the engine: client, HAProxy, mmchaos' target) and mmcb-exc-PID
# (the exchange: server), one veth pair 10.79.1.1 <-> 10.79.1.2 (eng0 <-> exc0); a cgroup v2
# group for the engine and one for the other process (bench_other). Never eth0, never the root
# namespace's interfaces or qdiscs, never a v1 hierarchy.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ "$(id -u)" -eq 0 ] || { echo "$0 needs root (CAP_BPF, CAP_NET_ADMIN, cgroups)" >&2; exit 1; }

ENG=mmcb-eng-$$ EXC=mmcb-exc-$$
ENG_IP=10.79.1.1 EXC_IP=10.79.1.2
PY=/usr/bin/python3 # Debian's, not a pyenv build on PATH
MMCHAOS=${MMCHAOS:-$PWD/build/userspace/mmchaos}
[ -x "$MMCHAOS" ] || { echo "$0: $MMCHAOS missing: ./scripts/build.sh first" >&2; exit 1; }
CG2=$("$MMCHAOS" doctor --json | jq -r '.cgroup2 // empty') # the cgroup v2 mount mmchaos uses
[ -n "$CG2" ] || { echo "$0: no cgroup v2 mount (mmchaos doctor)" >&2; exit 1; }
CG=$CG2/mmchaos-bench-$$         # the engine: mmchaos' target
CG_OTHER=$CG2/mmchaos-bench-$$-o # another process on the engine's host
WORK=$(mktemp -d /tmp/mmchaos-bench-XXXXXX)
CTL='' PIDS=() # CTL: the controller; PIDS: background processes to stop on exit

die() { echo "$0: $*" >&2; exit 1; }

source bench/helpers.sh
bench_cleanup() {
  local rc=$?
  trap - ERR
  set +e
  [ -n "$CTL" ] && kill -TERM "$CTL" 2>/dev/null && wait "$CTL" 2>/dev/null
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  remove_cgroups "$CG" "$CG_OTHER"
  ip netns del "$ENG" 2>/dev/null
  ip netns del "$EXC" 2>/dev/null
  rm -rf "$WORK"
  exit "$rc"
}
trap bench_cleanup EXIT
trap 'echo "$0: line $LINENO: \"$BASH_COMMAND\" failed" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

for tool in jq bc ip ss curl "$PY"; do
  command -v "$tool" >/dev/null || die "$tool not found: run ./scripts/install-deps.sh"
done
if [ ! -x "$MMCHAOS" ]; then
  echo "$0: $MMCHAOS missing: building" >&2
  ./scripts/build.sh >/dev/null
fi
# A private copy (its BPF objects are embedded), with the preload it installs next to itself: a
# concurrent rebuild cannot swap them mid-run.
cp "$MMCHAOS" "$WORK/mmchaos"
[ -f "$(dirname "$MMCHAOS")/libmmchaos-clock.so" ] &&
  cp "$(dirname "$MMCHAOS")/libmmchaos-clock.so" "$WORK/"
MMCHAOS=$WORK/mmchaos

topology() {
  ip netns add "$ENG"
  ip netns add "$EXC"
  ip -n "$ENG" link add eng0 type veth peer name exc0 netns "$EXC"
  ip -n "$ENG" addr add "$ENG_IP/24" dev eng0
  ip -n "$EXC" addr add "$EXC_IP/24" dev exc0
  for ns in "$ENG" "$EXC"; do
    ip -n "$ns" link set lo up
  done
  ip -n "$ENG" link set eng0 up
  ip -n "$EXC" link set exc0 up
  mkdir "$CG" "$CG_OTHER"
}

# in_cg CGROUP NETNS CMD...: runs CMD in the cgroup (- for none) and netns, in the foreground,
# with the same pid throughout (exec). `ip netns exec` hides the cgroup2 mount: join the cgroup
# first, then enter the namespace.
IN_CG='[ "$0" = - ] || echo $$ > "$0/cgroup.procs"; ns=$1; shift; exec ip netns exec "$ns" "$@"'
in_cg() { sh -c "$IN_CG" "$@"; }

# bg NAME CGROUP NETNS CMD...: the same in the background (output in $WORK/NAME.log); sets BG to
# its pid, which is CMD's.
bg() {
  local name=$1
  shift
  sh -c "$IN_CG" "$@" > "$WORK/$name.log" 2>&1 &
  BG=$!
  PIDS+=("$BG")
}

wait_listen() { # NETNS PORT
  for _ in $(seq 100); do
    ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return
    sleep 0.05
  done
  die "nothing listens on port $2 in $1"
}


# utime+stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat).
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }

median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# mmchaos_start CONFIG [LINE]: starts `mmchaos run`, waits for its log line LINE (default
# "attached to": the cgroup programs; "tc hook up" once the interface's are too); sets CTL, and
# START_MS to the milliseconds from the start to that line. Call it in this shell, not in $(...).
mmchaos_start() {
  local t0 t1 line=${2:-attached to}
  t0=$(date +%s%N)
  "$MMCHAOS" run -c "$1" 2> "$WORK/run.log" &
  CTL=$!
  local ok=0
  wait_for_log "$CTL" "$WORK/run.log" "$line" 1000 0.002 || ok=$?
  t1=$(date +%s%N)
  [ "$ok" = 0 ] || die "mmchaos did not get to '$line': $(cat "$WORK/run.log")"
  START_MS=$(( (t1 - t0) / 1000000 ))
}

mmchaos_stop() {
  local rc=0
  kill -TERM "$CTL" 2>/dev/null || true
  wait "$CTL" || rc=$?
  CTL=
  grep -q "detached from outside" "$WORK/run.log" &&
    die "mmchaos was detached from outside (an 'mmchaos rollback' elsewhere?): run again"
  [ "$rc" -eq 0 ] || die "mmchaos exited with $rc: $(cat "$WORK/run.log")"
}
