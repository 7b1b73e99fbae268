#!/usr/bin/env bash
# Per-provider overhead bench: builds bench/.venv-providers (spanflow, the provider clients and
# the peers' instrumentations for them) on first use, then runs bench/bench_providers.py.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=bench/.venv-providers
STAMP="$VENV/.installed-stamp"
if [[ ! -f "$STAMP" || bench/requirements-providers.txt -nt "$STAMP" || pyproject.toml -nt "$STAMP" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e . -r bench/requirements-providers.txt
    touch "$STAMP"
fi
exec "$VENV/bin/python" bench/bench_providers.py "$@"
