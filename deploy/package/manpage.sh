#!/usr/bin/env bash
# Generates mmchaos.1 from the CLI itself: help2man for the synopsis and the command list, and
# every subcommand's own --help as a section, so the man page cannot drift from the binary.
# Usage: manpage.sh MMCHAOS_BIN OUT.1
set -euo pipefail
bin=$1 out=$2
inc=$(mktemp)
trap 'rm -f "$inc"' EXIT
{
  echo "[DESCRIPTION]"
  echo "mmchaos attaches eBPF programs to one engine's cgroup v2 and interfaces and injects the"
  echo "faults chaos.yaml names (loss, delay, HTTP 429/5xx, DNS failures, resets, clock skew,"
  echo "memory pressure) in bursts decided in the kernel, with a shadow mode that decides and"
  echo "counts without injecting, Prometheus metrics and rollback by detaching."
  echo "[COMMANDS]"
  for sub in $("$bin" --help | awk 'tolower($0) ~ /^subcommands:/{on=1; next} on && NF {print $1}'); do
    echo ".SS $sub"
    echo ".nf"
    "$bin" "$sub" --help | sed "s|$bin|mmchaos|g" | sed 's/\\/\\\\/g; s/^\./\\\&./'
    echo ".fi"
  done
  echo "[FILES]"
  echo ".TP"
  echo "/etc/mmchaos/chaos.yaml"
  echo "the configuration the systemd unit runs (safe defaults: nothing injected)"
  echo ".TP"
  echo "/run/mmchaos"
  echo "locks, crash records and clock_skew's shared record"
  echo "[EXIT STATUS]"
  echo "0 success, 1 runtime failure, 2 usage or config error."
  echo "[SEE ALSO]"
  echo "systemctl(1), /usr/share/doc/mmchaos/README.md"
} >"$inc"
help2man --no-info --section 1 --name "kernel-level chaos injection for a market-making engine" \
  --include "$inc" --output "$out" "$bin"
