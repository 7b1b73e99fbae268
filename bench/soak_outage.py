"""Soak: SDK processes emit runs while the collector is killed and restarted; count what is lost.

A collector process serves on fixed loopback ports; ``--processes`` worker processes emit runs
of spans at ``--spans-per-second`` each for ``--duration-s``; every ``--restart-every-s`` the
collector is SIGKILLed and started again on the same ports (and the same SQLite index). At the
end the workers exit (at most the SDK's exit bound each), ``spanflow spool flush`` delivers
anything a worker left in the shared spool, and every span each worker says it emitted is
looked up in the index. Prints ``emitted``, ``stored`` and ``lost`` (which must be 0)::

    .venv/bin/python bench/soak_outage.py --duration-s 600
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPANS_PER_RUN = 20
READY_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _worker_environment(spool_dir: Path, endpoint: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SPANFLOW_", "OTEL_"))
    }
    environment.update(SPANFLOW_ENDPOINT=endpoint, SPANFLOW_SPOOL_DIR=str(spool_dir))
    return environment


def start_collector(db: Path, http_port: int, grpc_port: int) -> subprocess.Popen[str]:
    """``spanflow collector`` on the given ports; returns once it printed that it is ready."""
    command = [sys.executable, "-m", "spanflow.cli", "collector", "--db", str(db)]
    process = subprocess.Popen(
        [*command, "--port", str(http_port), "--grpc-port", str(grpc_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "ready" not in line:
        process.kill()
        raise RuntimeError(f"collector did not start: {line!r}")
    return process


def worker(stop_at: float, spans_per_second: float, out: Path) -> None:
    """Emit runs of ``SPANS_PER_RUN`` spans until ``stop_at``; write ``{run_id: spans}``."""
    import spanflow
    from spanflow._internal import config

    tracer = config.tracer()
    emitted: dict[str, int] = {}
    interval_s = 1.0 / spans_per_second
    next_at = time.monotonic()
    while time.time() < stop_at:
        with spanflow.run("soak") as run:
            for n in range(SPANS_PER_RUN):
                with tracer.start_as_current_span(f"soak-{n}"):
                    pass
                emitted[run.id] = n + 1
                next_at += interval_s
                time.sleep(max(next_at - time.monotonic(), 0))
        out.write_text(json.dumps(emitted))  # rewritten per run: a crash still leaves a record


def count_stored(db: Path, emitted: dict[str, int]) -> tuple[int, int]:
    """``(spans stored, runs that read completed)`` for the emitted runs."""
    from spanflow import Client

    stored = completed = 0
    with Client(str(db)) as client:
        for run_id in emitted:
            names = {span.name for span in client.spans(run_id) if span.name.startswith("soak-")}
            stored += len(names)
            if client.get_run(run_id).status == "completed":
                completed += 1
    return stored, completed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration-s", type=float, default=600.0)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--restart-every-s", type=float, default=60.0)
    parser.add_argument("--spans-per-second", type=float, default=10.0, help="per process")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        stop_at, rate, out = args.worker
        worker(float(stop_at), float(rate), Path(out))
        return 0

    work = Path(tempfile.mkdtemp(prefix="spanflow-soak-"))
    db, spool_dir = work / "index.db", work / "spool"
    http_port, grpc_port = _free_port(), _free_port()
    endpoint = f"http://127.0.0.1:{http_port}"
    collector = start_collector(db, http_port, grpc_port)
    stop_at = time.time() + args.duration_s
    outputs = [work / f"worker-{n}.json" for n in range(args.processes)]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                str(stop_at),
                str(args.spans_per_second),
                str(out),
            ],
            env=_worker_environment(spool_dir, endpoint),
        )
        for out in outputs
    ]
    restarts = 0
    next_restart = time.time() + args.restart_every_s
    while time.time() < stop_at:
        time.sleep(min(1.0, max(stop_at - time.time(), 0)))
        if time.time() >= next_restart and time.time() < stop_at:
            collector.send_signal(signal.SIGKILL)
            collector.wait(READY_TIMEOUT_S)
            collector = start_collector(db, http_port, grpc_port)
            restarts += 1
            next_restart += args.restart_every_s
            print(f"restarted the collector ({restarts})", flush=True)
    exit_started = time.monotonic()
    for process in workers:
        process.wait(READY_TIMEOUT_S + args.duration_s)
    exit_s = time.monotonic() - exit_started
    flush = subprocess.run(
        [sys.executable, "-m", "spanflow.cli", "spool", "flush"],
        env=_worker_environment(spool_dir, endpoint),
        capture_output=True,
        text=True,
    )
    print(flush.stdout.strip(), flush=True)
    collector.send_signal(signal.SIGTERM)
    collector.wait(READY_TIMEOUT_S)
    emitted: dict[str, int] = {}
    for out in outputs:
        emitted.update(json.loads(out.read_text()) if out.exists() else {})
    total = sum(emitted.values())
    stored, completed = count_stored(db, emitted)
    print(
        f"processes={args.processes} duration_s={args.duration_s:.0f} restarts={restarts} "
        f"runs={len(emitted)} completed={completed} emitted={total} stored={stored} "
        f"lost={total - stored} workers_exit_s={exit_s:.1f}"
    )
    return 0 if total == stored else 1


if __name__ == "__main__":
    sys.exit(main())
