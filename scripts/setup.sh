#!/usr/bin/env bash
# One idempotent set-up for `npm run demo` and `npm test` on Debian 12 with node 20:
#  - npm packages (skipped when node_modules matches package-lock.json)
#  - lavapipe (mesa-vulkan-drivers 25.x from bookworm-backports: Dawn rejects bookworm's own 22.x)
#  - Debian's chromium (headless browser tests; only when asked with --browser)
# What is already present is skipped. Needs root (or sudo) only for the apt part.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
for a in "$@"; do [ "$a" = "--browser" ] && want_browser=1; done

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

lvp_icd=/usr/share/vulkan/icd.d/lvp_icd.json
mesa_major() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/'; }

apt_updated=0
apt_update() { [ $apt_updated = 1 ] || { $SUDO apt-get update -qq; apt_updated=1; }; }

if [ ! -f "$lvp_icd" ] || [ "$(mesa_major || echo 0)" -lt 24 ]; then
  echo "[setup] installing lavapipe (mesa-vulkan-drivers from bookworm-backports)"
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/qsched-backports.list >/dev/null
  fi
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
else
  echo "[setup] lavapipe present (mesa $(mesa_major).x)"
fi

if [ $want_browser = 1 ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    echo "[setup] installing Debian chromium"
    apt_update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  else
    echo "[setup] chromium present ($(chromium --version 2>/dev/null | head -1))"
  fi
fi

# npm packages: reinstall only when the lock file changed since the last install.
stamp=node_modules/.qsched-lock-hash
hash=$(sha256sum package-lock.json 2>/dev/null | cut -c1-16 || echo none)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
  echo "[setup] npm ci"
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  echo "$hash" > "$stamp"
else
  echo "[setup] npm packages present"
fi
