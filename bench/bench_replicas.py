"""Collector replicas against one PostgreSQL: aggregate OTLP/HTTP ingest, 1 replica vs N.

Starts a throwaway PostgreSQL on loopback (default durability: ``fsync=on``), then for each
replica count (1 and ``--replicas``, interleaved over ``--rounds``) a fresh database and that
many ``spanflow collector`` processes writing to it. The requests of ``bench_ingest.py`` (512
LLM-sized spans each, whole traces per request) are dealt to the replicas by trace, as an
OpenTelemetry Collector's load-balancing exporter with ``routing_key: traceID`` would, each
replica fed by its own client threads. The clock stops at the last 200 (sent after commit),
and every span is then counted in the database. Prints spans/s and the CPU the collectors used
per 1,000 spans (PostgreSQL's own CPU not included).

    python bench/bench_replicas.py [--replicas 3] [--spans 30720] [--rounds 3]

See docs/scaling.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).parent))
from bench_ingest import (
    BATCH_SIZE,
    SPANFLOW_COLLECTOR,
    _process_tree_cpu_s,
    build_requests,
    send_all,
)
from local_postgres import postgres_server


@contextlib.contextmanager
def collectors(url: str, count: int, options: list[str]) -> Iterator[list[tuple[int, int]]]:
    """``count`` collector processes on ``url``; yields (pid, HTTP port) of each."""
    processes: list[subprocess.Popen[str]] = []
    try:
        ports = []
        for _ in range(count):
            process = subprocess.Popen(
                [*SPANFLOW_COLLECTOR, "--port", "0", "--no-grpc", "--db", url, *options],
                stdout=subprocess.PIPE,
                text=True,
            )
            processes.append(process)
            assert process.stdout is not None
            ready = process.stdout.readline()
            if "ready" not in ready:
                raise RuntimeError(f"spanflow collector did not start: {ready!r}")
            ports.append((process.pid, int(ready.split("http=http://127.0.0.1:", 1)[1].split()[0])))
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(60)


def one_round(
    server_url: str, replicas: int, spans: int, options: list[str]
) -> tuple[float, float]:
    """Spans/s over ``replicas`` collectors on a fresh database, and CPU ms per 1k spans."""
    database = f"replicas_{replicas}_{time.time_ns()}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {database}")
    url = server_url.rsplit("/", 1)[0] + "/" + database
    bodies = build_requests(spans, run_tag=replicas)
    with collectors(url, replicas, options) as running:
        shares = [bodies[index::replicas] for index in range(replicas)]
        for (_, port), share in zip(running, shares, strict=True):
            send_all(port, "/v1/traces", share[:1])  # warm-up, not timed
        cpu_before = sum(sum(_process_tree_cpu_s(pid)) for pid, _ in running)
        spans_by_replica: list[tuple[float, float]] = []

        def feed(port: int, share: list[bytes]) -> None:
            spans_by_replica.append(send_all(port, "/v1/traces", share[1:]))

        threads = [
            threading.Thread(target=feed, args=(port, share))
            for (_, port), share in zip(running, shares, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu_s = sum(sum(_process_tree_cpu_s(pid)) for pid, _ in running) - cpu_before
    started = min(start for start, _ in spans_by_replica)
    finished = max(end for _, end in spans_by_replica)
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT count(*) FROM spans").fetchone()
    if row is None or row[0] != spans:
        raise RuntimeError(f"the index holds {row} spans, expected {spans}")
    timed = spans - replicas * BATCH_SIZE
    return timed / (finished - started), 1e6 * cpu_s / timed


def main() -> int:
    """Measure 1 and N replicas, interleaved; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--spans", type=int, default=60 * BATCH_SIZE)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--decode-processes",
        default="0",
        help="per replica (0: the replicas are the parallelism; default 0)",
    )
    args = parser.parse_args()
    options = ["--decode-processes", args.decode_processes]
    counts = sorted({1, args.replicas})
    figures: dict[int, list[tuple[float, float]]] = {count: [] for count in counts}
    with postgres_server() as server_url:
        for _ in range(args.rounds):
            for count in counts:
                figures[count].append(one_round(server_url, count, args.spans, options))
    print(
        f"{args.spans} LLM-sized spans per round, batches of {BATCH_SIZE}, OTLP/HTTP protobuf, "
        f"one PostgreSQL (fsync on) on loopback, {args.rounds} rounds, interleaved"
    )
    print()
    print("| collector replicas | spans/s (median) | min-max | collector CPU per 1k spans |")
    print("|---:|---:|---:|---:|")
    for count, rounds in figures.items():
        rates = [rate for rate, _ in rounds]
        cpu = statistics.median(cpu_ms for _, cpu_ms in rounds)
        print(
            f"| {count} | {statistics.median(rates):,.0f} | {min(rates):,.0f}-{max(rates):,.0f} "
            f"| {cpu:,.0f} ms |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
