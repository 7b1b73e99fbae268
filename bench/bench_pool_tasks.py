"""Cost of delivering each pool task's spans before its result, per task, in a real Pool.

spanflow wraps every task submitted to a ``multiprocessing.Pool`` (and a
``ProcessPoolExecutor``) so that a task that ended spans flushes them before its result goes
back to the parent (see ``spanflow._internal.pool_tasks``). This bench times ``Pool(2).map``
over many one-item tasks (``chunksize=1``, the worst case: one flush per task) with the wrapper
and without it, for:

- a task that makes no span (the wrapper only reads a counter);
- a task that ends one span (the wrapper flushes it: one export per task).

Spans go over OTLP/HTTP to a receiver on loopback (``--exporter otlp``) or into the embedded
SQLite index (``--exporter embedded``). Figures are milliseconds per task (median of repeats)
and the difference. Run:
``.venv/bin/python bench/bench_pool_tasks.py --tasks 400 --repeats 3``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from opentelemetry import trace

import spanflow
from spanflow._internal import pool_tasks
from spanflow.testing import OTLPReceiver


def no_span(index: int) -> int:
    return index * 2


def one_span(index: int) -> int:
    trace.get_tracer("bench").start_span("task").end()
    return index * 2


def ms_per_task(task: Callable[[int], int], tasks: int, repeats: int, *, wrapped: bool) -> float:
    if wrapped:
        pool_tasks.install()
    else:
        pool_tasks.uninstall()
    timings = []
    context = multiprocessing.get_context("fork")
    with spanflow.run("bench-pool"), context.Pool(2) as pool:
        pool.map(task, range(20), chunksize=1)  # warm up both workers
        for _ in range(repeats):
            started = time.perf_counter()
            pool.map(task, range(tasks), chunksize=1)
            timings.append((time.perf_counter() - started) / tasks * 1e3)
    pool_tasks.install()
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--exporter", choices=["otlp", "embedded"], default="otlp")
    options = parser.parse_args()
    with OTLPReceiver() as receiver, tempfile.TemporaryDirectory() as directory:
        if options.exporter == "otlp":
            spanflow.configure(endpoint=receiver.endpoint)
        else:
            spanflow.configure(exporters=["embedded"], db_path=Path(directory) / "index.db")
        print(f"Pool(2).map, chunksize=1, {options.tasks} tasks, exporter {options.exporter}")
        print(f"{'task':<10}{'unwrapped ms':>14}{'wrapped ms':>12}{'added ms':>10}")
        for name, task in (("no span", no_span), ("one span", one_span)):
            bare = ms_per_task(task, options.tasks, options.repeats, wrapped=False)
            wrapped = ms_per_task(task, options.tasks, options.repeats, wrapped=True)
            print(f"{name:<10}{bare:>14.3f}{wrapped:>12.3f}{wrapped - bare:>10.3f}")
        spanflow.shutdown()


if __name__ == "__main__":
    main()
