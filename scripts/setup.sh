#!/usr/bin/env bash
# One idempotent set-up for `npm run demo` and `npm test` on Debian 12 with node 20:
#  - npm packages (skipped when node_modules matches package-lock.json)
#  - lavapipe, Mesa's Vulkan CPU driver, 24 or newer: Dawn rejects older ones. On Debian 12 that is
#    mesa-vulkan-drivers from bookworm-backports (bookworm's own is 22.x); Debian 13 and later ship a new enough one.
#  - Debian's chromium (headless browser tests; only when asked with --browser)
# What is already present is skipped. Needs root (or sudo) only for the apt part.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
for a in "$@"; do [ "$a" = "--browser" ] && want_browser=1; done

fail() { echo "[setup] $*" >&2; exit 1; }

# vite (vitest's bundler) declares node ^20.19 || >=22.12; Debian 12's own nodejs is 18.
node_version=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
node_major=${node_version%%.*}; node_minor=${node_version#*.}; node_minor=${node_minor%%.*}
if [ "$node_major" -lt 20 ]; then
  fail "Node $node_version found; this project needs Node 20.19 or newer (https://nodejs.org, or NodeSource's node_20.x for Debian)"
elif [ "$node_major" = 20 ] && [ "$node_minor" -lt 19 ]; then
  echo "[setup] warning: Node $node_version is older than 20.19, the oldest Node 20 the test tools (vite) support"
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="no-sudo"; fi
fi

# apt with a wait for the dpkg lock (a freshly booted VM's unattended-upgrades holds it for minutes) and with
# DEBIAN_FRONTEND passed through sudo (its env_reset would drop a variable set in front of it).
apt_get() {
  [ "$SUDO" = "no-sudo" ] && fail "apt-get $* needs root and there is no sudo: run \`bash scripts/setup.sh --browser\` as root once, then run this again"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"
}
apt_updated=0
apt_update() { [ $apt_updated = 1 ] || { apt_get update -qq; apt_updated=1; }; }

os_id=""; os_version=""; os_codename=""
if [ -f /etc/os-release ]; then
  # shellcheck disable=SC1091
  os_id=$(. /etc/os-release && echo "${ID:-}")
  os_version=$(. /etc/os-release && echo "${VERSION_ID:-}")
  os_codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
fi

# The lavapipe ICD: Debian names it without the architecture, upstream Mesa and Ubuntu with it.
lvp_icd=""
for f in /usr/share/vulkan/icd.d/lvp_icd.json /usr/share/vulkan/icd.d/lvp_icd.x86_64.json /usr/share/vulkan/icd.d/lvp_icd.aarch64.json; do
  if [ -f "$f" ]; then lvp_icd=$f; break; fi
done
mesa_major() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/' || true)
  echo "${v:-0}"
}

# Whether apt has bookworm-backports as a release now (a commented-out line, a disabled deb822 stanza or a
# *.list.disabled file mentions the name but gives apt nothing).
backports_known() { apt-cache policy 2>/dev/null | grep -q "a=bookworm-backports"; }

if [ -n "$lvp_icd" ] && [ "$(mesa_major)" -ge 24 ]; then
  echo "[setup] lavapipe present (mesa $(mesa_major).x)"
elif [ "$os_id" = debian ] && [ "$os_codename" = bookworm ]; then
  echo "[setup] installing lavapipe (mesa-vulkan-drivers from bookworm-backports)"
  apt_update
  if ! backports_known; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/qsched-backports.list >/dev/null
    apt_updated=0
    apt_update
    backports_known || fail "apt still has no bookworm-backports release after adding /etc/apt/sources.list.d/qsched-backports.list (is a mirror unreachable?)"
  fi
  apt_get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
elif [ "$os_id" = debian ] && [ "${os_version%%.*}" -ge 13 ] 2>/dev/null; then
  echo "[setup] installing lavapipe (mesa-vulkan-drivers from Debian $os_version)"
  apt_update
  apt_get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
elif [ -n "$lvp_icd" ]; then
  fail "lavapipe at $lvp_icd is from Mesa $(mesa_major).x; Dawn needs Mesa 24 or newer. This script installs it on Debian 12 and 13 only (found ${os_id:-an unknown system} ${os_version}): install a newer mesa-vulkan-drivers yourself"
else
  fail "no lavapipe (Mesa's Vulkan CPU driver). This script installs it on Debian 12 and 13 only (found ${os_id:-an unknown system} ${os_version}): install mesa-vulkan-drivers 24 or newer yourself, or point VK_ICD_FILENAMES at another Vulkan driver"
fi

if [ $want_browser = 1 ]; then
  # scripts/chromium.mjs drives Debian's chromium at these paths (its SwiftShader ICD sits beside it).
  if [ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ]; then
    echo "[setup] chromium present ($( (/usr/bin/chromium --version || /usr/bin/chromium-browser --version) 2>/dev/null | head -1))"
  elif [ "$os_id" = debian ]; then
    echo "[setup] installing Debian chromium"
    apt_update
    apt_get install -y -qq chromium >/dev/null
  else
    fail "the browser tests drive Debian's chromium (/usr/bin/chromium, with its SwiftShader Vulkan driver); found ${os_id:-an unknown system}: install chromium there yourself"
  fi
fi

# npm packages: reinstall only when the lock file changed since the last install. A tree made by `npm install`
# from the same lock file (no stamp yet) is kept when `npm ls` finds it complete: no network needed.
stamp=node_modules/.qsched-lock-hash
hash=$(sha256sum package-lock.json 2>/dev/null | cut -c1-16 || echo none)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
  echo "[setup] npm packages present"
elif [ ! -f "$stamp" ] && [ -d node_modules ] && npm ls --all >/dev/null 2>&1; then
  echo "[setup] npm packages present (installed without this script)"
  echo "$hash" > "$stamp"
else
  echo "[setup] npm ci"
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  echo "$hash" > "$stamp"
fi
