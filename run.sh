#!/usr/bin/env bash
# Start the dashboard on http://127.0.0.1:${VEILIGHEID_PORT:-8501}.
# Installs what it needs; on first start (empty warehouse) it builds a demo warehouse.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure_venv.sh requirements.txt
.venv/bin/python -m pipelines firstrun
exec .venv/bin/python -m streamlit run app.py --server.port "${VEILIGHEID_PORT:-8501}" --server.address 127.0.0.1 "$@"
