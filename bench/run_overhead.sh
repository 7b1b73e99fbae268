#!/usr/bin/env bash
# Per-call overhead bench: builds bench/.venv-overhead (spanflow + the peer instrumentations,
# kept out of the development venv) on first use, then runs bench/bench_overhead.py.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=bench/.venv-overhead
STAMP="$VENV/.installed-stamp"
if [[ ! -f "$STAMP" || bench/requirements-overhead.txt -nt "$STAMP" || pyproject.toml -nt "$STAMP" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e . -r bench/requirements-overhead.txt
    touch "$STAMP"
fi
exec "$VENV/bin/python" bench/bench_overhead.py "$@"
