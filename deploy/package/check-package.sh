#!/usr/bin/env bash
# Checks of the built .deb that change nothing on the host. Usage: check-package.sh STEP DIR
#   build    DIR: cpack the build tree into DIR (the other steps read DIR/*.deb)
#   contents the files, the conffile, the maintainer scripts
#   lintian  no lintian error
#   unit     systemd-analyze verify of the unit as installed (in the extracted package)
#   man      the man page renders and has a section per subcommand
#   defaults the shipped chaos.yaml validates and injects nothing
set -euo pipefail
step=$1 dir=$2
deb() { ls "$dir"/mmchaos_*.deb; }
root() { [ -d "$dir/root" ] || dpkg-deb -x "$(deb)" "$dir/root"; echo "$dir/root"; }
case $step in
  build)
    rm -rf "$dir" && mkdir -p "$dir"
    cpack --config "$(dirname "$dir")/CPackConfig.cmake" -B "$dir" >/dev/null
    deb ;;
  contents)
    files=$(dpkg-deb -c "$(deb)" | awk '{print $6}')
    for f in ./usr/bin/mmchaos ./usr/lib/mmchaos/libmmchaos-clock.so ./etc/mmchaos/chaos.yaml \
      ./lib/systemd/system/mmchaos.service ./usr/share/man/man1/mmchaos.1.gz \
      ./usr/share/bash-completion/completions/mmchaos ./usr/share/doc/mmchaos/copyright \
      ./usr/share/doc/mmchaos/examples/mmchaos.rules.yml \
      ./usr/share/doc/mmchaos/examples/mmchaos-dashboard.json; do
      grep -qxF "$f" <<<"$files" || { echo "missing from the package: $f"; exit 1; }
    done
    # Nothing but these trees: no test binaries, no reference target.
    if grep -vE '^\./(usr/(bin/mmchaos|lib/mmchaos|share/(man|bash-completion|doc))|etc/mmchaos|lib/systemd)|^\./(usr/|usr/bin/|usr/lib/|usr/share/|etc/|lib/)?$' <<<"$files"; then
      echo "unexpected files above"; exit 1
    fi
    [ "$(dpkg-deb -f "$(deb)" Package)" = mmchaos ]
    dpkg-deb -I "$(deb)" conffiles | grep -qx /etc/mmchaos/chaos.yaml
    for s in postinst prerm postrm; do dpkg-deb -I "$(deb)" $s >/dev/null; done
    # The preload is found where `mmchaos exec` looks: ../lib/mmchaos/ from the binary.
    [ -f "$(root)/usr/bin/../lib/mmchaos/libmmchaos-clock.so" ]
    echo "contents ok" ;;
  lintian)
    lintian --fail-on error --tag-display-limit 0 "$(deb)" ;;
  unit)
    # The unit as packaged, its commands pointed at the package's binary (extracted); the
    # installed unit is verified as is by the kernel-lane install test.
    mkdir -p "$dir/unit"
    sed "s|/usr/bin/mmchaos|$(root)/usr/bin/mmchaos|g" "$(root)/lib/systemd/system/mmchaos.service" \
      >"$dir/unit/mmchaos.service"
    systemd-analyze verify --man=no "$dir/unit/mmchaos.service"
    echo "unit ok" ;;
  man)
    out=$(MANWIDTH=100 man -l "$(root)/usr/share/man/man1/mmchaos.1.gz" 2>&1)
    for sub in $("$(root)/usr/bin/mmchaos" --help | awk 'tolower($0) ~ /^subcommands:/{on=1; next} on && NF {print $1}'); do
      grep -qE "^ +Usage: mmchaos $sub " <<<"$out" || { echo "man page lacks $sub's --help"; exit 1; }
    done
    grep -q -- '--dry-run' <<<"$out"
    echo "man ok" ;;
  defaults)
    eff=$("$(root)/usr/bin/mmchaos" validate -c "$(root)/etc/mmchaos/chaos.yaml")
    grep -qE '^ +enabled: false' <<<"$eff" || { echo "shipped config is enabled: $eff"; exit 1; }
    grep -qE '^ +dry_run: true' <<<"$eff"
    echo "defaults ok" ;;
  *) echo "unknown step $step" >&2; exit 2 ;;
esac
