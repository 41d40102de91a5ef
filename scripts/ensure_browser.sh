#!/usr/bin/env bash
# Install Debian's Chromium and its WebDriver for the browser tests (tests/pages), if missing.
# Idempotent: does nothing when /usr/bin/chromium and /usr/bin/chromedriver both exist.
# No browser is downloaded by pip/npm/selenium-manager: only the distribution's packages.
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  exit 0
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "ensure_browser: chromium/chromedriver missing and not root (no sudo) to install them" >&2
    exit 1
  fi
fi

echo "ensure_browser: installing Debian packages chromium and chromium-driver" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver

for binary in /usr/bin/chromium /usr/bin/chromedriver; do
  if [[ ! -x "$binary" ]]; then
    echo "ensure_browser: $binary still missing after apt-get install" >&2
    exit 1
  fi
done
