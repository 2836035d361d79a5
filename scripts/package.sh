#!/usr/bin/env bash
# Builds the Debian package: build/package/mmchaos_<version>_<arch>.deb (CPack; what goes in is
# listed in deploy/CMakeLists.txt). Install with `dpkg -i` (or `apt install ./FILE.deb`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
cpack --config build/CPackConfig.cmake -B build/package >/dev/null
ls build/package/*.deb
