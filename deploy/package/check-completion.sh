#!/usr/bin/env bash
# Checks the bash completion against the CLI: the same subcommands, and for each the same
# options as its --help lists (both ways). Usage: check-completion.sh MMCHAOS_BIN COMPLETION
set -euo pipefail
bin=$1 comp=$2
fail=0
help_subs=$("$bin" --help | awk 'tolower($0) ~ /^subcommands:/{on=1; next} on && NF {print $1}' | sort)
comp_subs=$(sed -n 's/^ *local subs="\(.*\)"/\1/p' "$comp" | tr ' ' '\n' | sort)
if [ "$help_subs" != "$comp_subs" ]; then
  echo "subcommands differ: --help: $(echo $help_subs) / completion: $(echo $comp_subs)"; fail=1
fi
for sub in $help_subs; do
  # Options as CLI11 prints them: "  -c,--config TEXT ...", "  --json ..."; not -h,--help.
  want=$("$bin" "$sub" --help | grep -oE '^ +(-[a-zA-Z],)?--[a-z-]+' | tr ',' '\n' |
    tr -d ' ' | { grep -vE '^(-h|--help)$' || true; } | sort -u)
  line=$(grep -E "^ +($sub\)|[a-z|]*\b$sub\b[a-z|]*\)) opts=" "$comp" | head -1)
  have=$(echo "$line" | sed -n 's/.*opts="\(.*\)".*/\1/p' | tr ' ' '\n' | { grep -vE '^(--)?$' || true; } | sort -u)
  if [ "$want" != "$have" ]; then
    echo "$sub: --help has [$(echo $want)], completion has [$(echo $have)]"; fail=1
  fi
done
bash -n "$comp" || fail=1
[ $fail -eq 0 ] && echo "completion matches the CLI"
exit $fail
