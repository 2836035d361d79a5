# Sourced by every bench script: helpers they share.
# remove_cgroups DIR...: kills what is left in each cgroup v2 group, then removes it, retrying
# for a second while the kernel releases the killed tasks.
remove_cgroups() {
  local g p
  for g in "$@"; do
    [ -d "$g" ] || continue
    for p in $(cat "$g/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$g" 2>/dev/null && break; sleep 0.1; done
    [ -d "$g" ] && echo "$0: warning: could not remove $g" >&2
  done
  return 0
}

# wait_for_log PID FILE TEXT TRIES DELAY: polls until FILE holds TEXT, PID exits, or TRIES polls
# DELAY seconds apart are over; true when TEXT is there.
wait_for_log() {
  for _ in $(seq "$4"); do
    grep -q "$3" "$2" && return 0
    kill -0 "$1" 2>/dev/null || break
    sleep "$5"
  done
  grep -q "$3" "$2"
}

# free_port: a TCP port nothing listens on in this namespace (for a listener about to start).
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((30000 + RANDOM % 20000))
    ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return 0; }
  done
  echo "$0: no free TCP port" >&2
  exit 1
}
