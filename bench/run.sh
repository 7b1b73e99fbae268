#!/usr/bin/env bash
# Overhead bench: builds bench/.venv (spanflow + the peer instrumentations, kept out of the
# development venv) on first use, then runs bench/bench_instrumentation.py with any arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=bench/.venv
STAMP="$VENV/.installed-stamp"
if [[ ! -f "$STAMP" || bench/requirements-instrumentation.txt -nt "$STAMP" || pyproject.toml -nt "$STAMP" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e . -r bench/requirements-instrumentation.txt
    touch "$STAMP"
fi
exec "$VENV/bin/python" bench/bench_instrumentation.py "$@"
