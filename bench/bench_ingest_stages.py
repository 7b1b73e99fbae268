"""Where the collector's CPU per span goes on ingest, stage by stage, in one process.

The same OTLP/HTTP protobuf requests as ``bench_ingest.py`` (512 LLM-sized spans each) go
through each stage of the write path on its own, timed with the process's CPU clock (which a
busy machine inflates far less than wall time), best of ``--repeats``:

- in a decode worker: parse (upb), decode (OTLP attributes to records), redaction, rows (JSON
  encoding of attributes, content blobs), pickling of the rows sent back;
- in the writer: unpickling, then ``write_prepared`` into a fresh SQLite index in transactions
  of 1,024 spans, split into the span inserts, the rest of the inserts, the run derivation
  queries and the rest (BEGIN/COMMIT with its fsync, merging, derived rows).

    python bench/bench_ingest_stages.py [--requests 40] [--repeats 3]

What this leaves out is the HTTP server and the hand-over to and from the worker processes;
``bench_ingest.py`` measures everything together.
"""

from __future__ import annotations

import argparse
import gc
import pickle
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from spanflow_collector.index import sqlite as sqlite_store
from spanflow_collector.index.prepared import PreparedSpans
from spanflow_collector.index.rows import build_rows
from spanflow_collector.otlp.from_protobuf import decode_request
from spanflow_collector.prepare import PreparedRequest
from spanflow_collector.redact import redact_spans

sys.path.insert(0, str(Path(__file__).parent))
from bench_ingest import BATCH_SIZE, build_requests

WRITE_BATCH_REQUESTS = 2  # 1,024 spans: the pipeline's transaction size


def _cpu_us_per_span(work: Callable[[], object], spans: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best / spans * 1e6


class _TimedExecutor:
    """The SQLite store's executor, adding each statement's CPU time to ``seconds[label]``."""

    def __init__(self, connection: sqlite3.Connection, seconds: dict[str, float]) -> None:
        self._connection = connection
        self._seconds = seconds

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        started = time.process_time()
        rows = self._connection.execute(sql, params).fetchall()
        self._seconds[_label(sql)] += time.process_time() - started
        return rows

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        started = time.process_time()
        self._connection.executemany(sql, rows)
        self._seconds[_label(sql)] += time.process_time() - started


def _label(sql: str) -> str:
    if sql.startswith("INSERT INTO spans "):
        return "span inserts"
    if sql.startswith("INSERT INTO"):
        return "other inserts"
    return "run derivation"


def _write_all(prepared: list[PreparedRequest], seconds: dict[str, float]) -> float:
    """CPU seconds of writing ``prepared`` into a fresh index; statements into ``seconds``."""
    with tempfile.TemporaryDirectory() as folder:
        store = sqlite_store.SqliteRunIndexStore(Path(folder) / "index.db")
        try:
            started = time.process_time()
            for first in range(0, len(prepared), WRITE_BATCH_REQUESTS):
                batch = prepared[first : first + WRITE_BATCH_REQUESTS]
                store.write_prepared([request.spans for request in batch], [], [])
            return time.process_time() - started
        finally:
            store.close()


def main() -> int:
    """Print the CPU per span of each stage, best of ``--repeats``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    bodies = build_requests(args.requests * BATCH_SIZE, run_tag=7)
    spans = args.requests * BATCH_SIZE
    repeats = args.repeats

    def parse() -> list[Any]:
        requests = []
        for body in bodies:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            requests.append(request)
        return requests

    parsed = parse()
    decoded = [decode_request(request) for request in parsed]
    records = [result.records for result in decoded]
    redacted = [redact_spans(spans) for spans in records]
    rows = [build_rows(spans) for spans in redacted]
    for result in decoded:
        result.records = []  # as the worker sends it back: rows only
    prepared = [PreparedRequest(PreparedSpans(r), d) for r, d in zip(rows, decoded, strict=True)]
    pickled = [pickle.dumps(request) for request in prepared]
    figures = {
        "worker: parse (upb)": _cpu_us_per_span(parse, spans, repeats),
        "worker: decode attributes to records": _cpu_us_per_span(
            lambda: [decode_request(request) for request in parsed], spans, repeats
        ),
        "worker: redaction": _cpu_us_per_span(
            lambda: [redact_spans(spans) for spans in records], spans, repeats
        ),
        "worker: rows (JSON, blobs)": _cpu_us_per_span(
            lambda: [build_rows(spans) for spans in redacted], spans, repeats
        ),
        "worker: pickling the rows": _cpu_us_per_span(
            lambda: [pickle.dumps(request) for request in prepared], spans, repeats
        ),
        "writer: unpickling": _cpu_us_per_span(
            lambda: [pickle.loads(data) for data in pickled], spans, repeats
        ),
    }
    statements: dict[str, float] = defaultdict(float)
    original_executor = sqlite_store._SqliteExecutor
    sqlite_store._SqliteExecutor = lambda connection: _TimedExecutor(  # type: ignore[assignment,misc]
        connection, statements
    )
    try:
        best_total = float("inf")
        best_statements: dict[str, float] = {}
        for _ in range(repeats):
            statements.clear()
            total = _write_all(prepared, statements)
            if total < best_total:
                best_total, best_statements = total, dict(statements)
    finally:
        sqlite_store._SqliteExecutor = original_executor  # type: ignore[misc]
    for label in ("span inserts", "other inserts", "run derivation"):
        figures[f"writer: {label}"] = best_statements.get(label, 0.0) / spans * 1e6
    rest = best_total - sum(best_statements.values())
    figures["writer: commit (fsync), merging, derived rows"] = rest / spans * 1e6
    print(f"{spans:,} LLM spans in requests of {BATCH_SIZE}; CPU per span, best of {repeats}")
    print()
    print("| stage | CPU per span |")
    print("|---|---:|")
    for name, us in figures.items():
        print(f"| {name} | {us:.1f} µs |")
    worker = sum(us for name, us in figures.items() if name.startswith("worker"))
    writer = sum(us for name, us in figures.items() if name.startswith("writer"))
    print(f"| **decode worker, total** | **{worker:.1f} µs** |")
    print(f"| **writer, total** | **{writer:.1f} µs** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
