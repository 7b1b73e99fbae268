#!/usr/bin/env bash
# Per-call overhead bench (bench/bench_overhead.py) in bench/.venv-overhead, built on first use.
exec "$(dirname "$0")/run_with_peers.sh" overhead "$@"
