#!/usr/bin/env bash
# Run the whole test suite (unit, ingest, warehouse, AppTest and real-browser tests).
# Installs what it needs: the venv with test tools, and Debian's Chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure_venv.sh requirements-dev.txt
if [ ! -x /usr/bin/chromium ]; then
  echo "== Chromium installeren (Debian-pakket, voor de browsertests)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
