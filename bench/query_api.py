"""What reading runs costs: the run index directly vs spanflow.Client embedded vs over HTTP.

Builds a SQLite run index of ``--runs`` runs (each with a few LLM calls and metric points),
serves the query API on loopback, then times the same reads three ways and prints each as a
ratio to calling the store directly. Run: ``.venv/bin/python bench/query_api.py``.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from spanflow import Client
from spanflow import attributes as attr
from spanflow.query.records import EventRecord, SpanRecord, StatusCode
from spanflow.query.store import RunIndexStore, RunQuery, ValueFilter
from spanflow_collector.api import build_routes
from spanflow_collector.index import open_store


def build_index(store: RunIndexStore, runs: int) -> list[str]:
    """Write ``runs`` runs (3 LLM calls, 5 metric points each); return their ids."""
    start = time.time_ns() - runs * 10**9
    ids: list[str] = []
    batch: list[SpanRecord] = []
    for index in range(runs):
        run_id = f"01BENCH{index:019d}"
        trace_id, root_id = f"{index + 1:032x}", f"{index + 1:016x}"
        begin = start + index * 10**9
        batch += [
            SpanRecord(
                trace_id,
                f"{(index + 1) * 16 + call:016x}",
                root_id,
                "chat gpt-4o-mini",
                3,
                begin + call * 1000,
                begin + call * 1000 + 500,
                {
                    attr.RUN_ID: run_id,
                    attr.SPAN_KIND: attr.SpanKindValue.LLM,
                    attr.GEN_AI_OPERATION_NAME: "chat",
                    attr.GEN_AI_USAGE_INPUT_TOKENS: 100,
                    attr.GEN_AI_USAGE_OUTPUT_TOKENS: 20,
                },
            )
            for call in range(1, 4)
        ]
        batch.append(
            SpanRecord(
                trace_id,
                root_id,
                None,
                f"eval-{index}",
                1,
                begin,
                begin + 10**8,
                {
                    attr.RUN_ID: run_id,
                    attr.RUN_NAME: f"eval-{index}",
                    attr.PROJECT: "bench",
                    attr.SPAN_KIND: attr.SpanKindValue.RUN,
                    attr.RUN_STATUS: "failed" if index % 10 == 0 else "completed",
                    attr.RUN_TAGS: ("nightly",) if index % 2 else (),
                    attr.PARAM_PREFIX + "lr": 0.001 * (index % 20),
                    attr.METRIC_PREFIX + "accuracy": (index % 100) / 100,
                },
                events=tuple(
                    EventRecord(
                        attr.EVENT_METRIC,
                        begin + step,
                        {
                            attr.EVENT_METRIC_NAME: "accuracy",
                            attr.EVENT_METRIC_VALUE: step / 5,
                            attr.EVENT_METRIC_STEP: step,
                        },
                    )
                    for step in range(5)
                ),
                status_code=StatusCode.ERROR if index % 10 == 0 else StatusCode.OK,
            )
        )
        ids.append(run_id)
        if len(batch) >= 2000:
            store.write_spans(batch)
            batch = []
    store.write_spans(batch)
    return ids


@contextmanager
def serve(store: RunIndexStore) -> Iterator[str]:
    """The query API on a loopback ephemeral port."""
    with serve_app(Starlette(routes=build_routes(store))) as url:
        yield url


@contextmanager
def serve_app(app: Starlette) -> Iterator[str]:
    """An ASGI app on a loopback ephemeral port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def best_of(repeat: int, work: Callable[[], object]) -> float:
    """Median seconds of ``repeat`` runs of ``work``, after one warm-up."""
    work()
    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings)


def main() -> None:
    """Build the index, time each read three ways, print a table of ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "index.db"
        store = open_store(str(path))
        ids = build_index(store, options.runs)
        middle = ids[len(ids) // 2]
        with serve(store) as url, Client(path) as embedded, Client(url) as http:
            page_query = RunQuery(limit=50)
            filtered = RunQuery(
                statuses=("completed",),
                tags=("nightly",),
                params=(ValueFilter("lr", ">", 0.01),),
                limit=50,
            )
            cases: list[tuple[str, Callable[[], object], Callable[[Client], object]]] = [
                (
                    "first page (50 runs)",
                    lambda: store.list_runs(page_query),
                    lambda c: c.list_runs(limit=50),
                ),
                (
                    "filtered page",
                    lambda: store.list_runs(filtered),
                    lambda c: c.list_runs(
                        status="completed", tags="nightly", params={"lr": (">", 0.01)}, limit=50
                    ),
                ),
                (
                    f"all {options.runs} runs, pages of 500",
                    lambda: _all_pages(store),
                    lambda c: sum(1 for _ in c.iter_runs(page_size=500)),
                ),
                (
                    "one run + metric history",
                    lambda: (store.get_run(middle), store.get_metric_history(middle)),
                    lambda c: (c.get_run(middle), c.metric_history(middle)),
                ),
                ("span tree of a run", lambda: store.get_spans(middle), lambda c: c.tree(middle)),
            ]
            print(f"{options.runs} runs, median of {options.repeat}; ratio = time / store direct")
            print(f"{'read':36} {'store ms':>9} {'embedded':>9} {'http':>9}")
            for name, direct, through in cases:
                base = best_of(options.repeat, direct)
                local = best_of(options.repeat, lambda through=through: through(embedded))
                remote = best_of(options.repeat, lambda through=through: through(http))
                print(f"{name:36} {base * 1000:9.2f} {local / base:8.2f}x {remote / base:8.2f}x")
        store.close()


def _all_pages(store: RunIndexStore) -> int:
    count, cursor = 0, None
    while True:
        page = store.list_runs(RunQuery(limit=500, cursor=cursor))
        count += len(page.runs)
        cursor = page.next_cursor
        if cursor is None:
            return count


if __name__ == "__main__":
    main()
