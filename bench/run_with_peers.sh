#!/usr/bin/env bash
# Usage: bench/run_with_peers.sh NAME [ARGS...]: runs bench/bench_NAME.py with ARGS in
# bench/.venv-NAME, which holds spanflow and the peers of bench/requirements-NAME.txt (kept out of
# the development venv). The venv is built on first use and again when either file changes.
set -euo pipefail
cd "$(dirname "$0")/.."
NAME="$1"
shift
VENV="bench/.venv-$NAME"
REQUIREMENTS="bench/requirements-$NAME.txt"
STAMP="$VENV/.installed-stamp"
if [[ ! -f "$STAMP" || "$REQUIREMENTS" -nt "$STAMP" || pyproject.toml -nt "$STAMP" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e . -r "$REQUIREMENTS"
    touch "$STAMP"
fi
exec "$VENV/bin/python" "bench/bench_$NAME.py" "$@"
