#!/usr/bin/env bash
# Create or update .venv from the pinned requirements (sourced by run.sh and test.sh).
# Usage: source scripts/ensure_venv.sh [requirements-file]
set -euo pipefail
_req="${1:-requirements.txt}"
_py="${PYTHON:-}"
if [ -z "$_py" ]; then
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then _py="$c"; break; fi
  done
fi
if [ -z "$_py" ]; then echo "Python 3.11 is nodig (zet PYTHON=/pad/naar/python3.11)" >&2; exit 2; fi
_stamp=".venv/.requirements-$(basename "$_req").sha256"
_want="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ]; then
  echo "== virtuele omgeving aanmaken (.venv)" >&2
  "$_py" -m venv .venv
fi
if [ "$(cat "$_stamp" 2>/dev/null)" != "$_want" ]; then
  echo "== pakketten installeren uit $_req" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$_req"
  echo "$_want" > "$_stamp"
fi
