#!/usr/bin/env bash
# Per-provider overhead bench (bench/bench_providers.py) in bench/.venv-providers, built on first use.
exec "$(dirname "$0")/run_with_peers.sh" providers "$@"
