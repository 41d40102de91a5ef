#!/usr/bin/env bash
# Install Debian's redis-server for the shared rate-limit tests (tests/serving), if missing.
# Idempotent: does nothing when redis-server is on PATH. The tests start their own instance
# on 127.0.0.1 on a free port and stop it; nothing is left running and no service is enabled.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "ensure_redis: redis-server missing and not root (no sudo) to install it" >&2
    exit 1
  fi
fi

echo "ensure_redis: installing the Debian package redis-server" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server
# The package may start a system instance on 6379; the tests never use it.
command -v redis-server >/dev/null 2>&1 || { echo "ensure_redis: still missing" >&2; exit 1; }
