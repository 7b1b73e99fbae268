"""Where the collector's CPU per span goes on ingest, stage by stage, in one process.

The same OTLP/HTTP protobuf requests as ``bench_ingest.py`` (512 LLM-sized spans each) go
through each stage of the write path on its own, timed with the process's CPU clock (which a
busy machine inflates far less than wall time), best of ``--repeats``:

- in a decode worker: parse (upb), decode (OTLP attributes to records), redaction, rows (JSON
  encoding of attributes, content blobs), pickling of the rows sent back;
- in the writer: unpickling, then ``write_prepared`` into a fresh SQLite index in transactions
  of 1,024 spans, split into the span inserts, the rest of the inserts, the run derivation
  queries and the rest (BEGIN/COMMIT with its fsync, merging, derived rows).

    python bench/bench_ingest_stages.py [--requests 40] [--repeats 3] [--reference REV]

What this leaves out is the HTTP server and the hand-over to and from the worker processes;
``bench_ingest.py`` measures everything together.

With ``--reference REV`` it then compares decode and redaction with those of a git revision:
that revision's decoder (``otlp/from_protobuf.py``) and redaction rules (``spanflow.redaction``)
are loaded under names of their own and run in alternate passes over the same requests in this
process, ``--pairs`` times, so that a busy machine slows both alike; it prints the medians and
the median of the per-pair ratios.

With ``--instructions`` it counts instructions instead of timing (valgrind's callgrind, which no
other load on the machine changes): decode, redaction and rows of ``--requests`` requests, each
between two markers in a child process under callgrind, after one request to warm the caches;
with ``--reference REV`` that revision's decode and redaction are counted too. Slow: about a
minute per child.
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from spanflow.redaction import Redactor
from spanflow_collector import redact
from spanflow_collector.index import sqlite as sqlite_store
from spanflow_collector.index.prepared import PreparedSpans
from spanflow_collector.index.rows import build_rows
from spanflow_collector.otlp.from_protobuf import decode_request
from spanflow_collector.prepare import PreparedRequest
from spanflow_collector.redact import redact_spans

sys.path.insert(0, str(Path(__file__).parent))
from bench_ingest import BATCH_SIZE, build_requests
from bench_overhead import MARKED_FUNCTION, mark_window, part_instructions

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


def _reference_module(revision: str, path: str, name: str) -> ModuleType:
    """``path`` as it was at ``revision``, as module ``name``; its imports of
    ``spanflow.redaction`` point at the reference copy (``reference_redaction``)."""
    source = subprocess.run(
        ["git", "show", f"{revision}:{path}"], check=True, capture_output=True, text=True
    ).stdout
    source = source.replace("from spanflow.redaction.", "from reference_redaction.")
    module = ModuleType(name)
    module.__file__ = f"{revision}:{path}"
    sys.modules[name] = module  # its dataclasses look their module up
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def _reference_stages(revision: str) -> tuple[Callable[[Any], Any], Redactor]:
    """The decoder's ``decode_request`` and a default ``Redactor`` of ``revision``."""
    folder = "src/spanflow/redaction"
    for part in ("_edits", "_vouched", "_names", "_shapes"):
        _reference_module(revision, f"{folder}/{part}.py", f"reference_redaction.{part}")
    redaction = _reference_module(revision, f"{folder}/__init__.py", "reference_redaction")
    decoder = _reference_module(
        revision, "collector/spanflow_collector/otlp/from_protobuf.py", "reference_decoder"
    )
    redactor: Redactor = redaction.Redactor()
    return decoder.decode_request, redactor


def _compare(
    label: str,
    current: Callable[[], object],
    reference: Callable[[], object],
    spans: int,
    pairs: int,
) -> None:
    """Alternate ``reference`` and ``current`` ``pairs`` times; print µs per span and ratio."""
    reference()
    current()
    before: list[float] = []
    now: list[float] = []
    for _ in range(pairs):
        started = time.process_time()
        reference()
        middle = time.process_time()
        current()
        before.append((middle - started) / spans * 1e6)
        now.append((time.process_time() - middle) / spans * 1e6)
    ratio = statistics.median(b / a for a, b in zip(before, now, strict=True))
    print(
        f"| {label} | {statistics.median(before):.1f} µs | {statistics.median(now):.1f} µs "
        f"| {ratio:.2f} |"
    )


def compare_with_reference(
    revision: str, parsed: list[Any], records: list[Any], spans: int, pairs: int
) -> None:
    """Decode and redaction of ``revision`` against the current code, interleaved."""
    reference_decode, reference_redactor = _reference_stages(revision)
    current_redactor = redact._redactor

    def redacting(redactor: Redactor) -> Callable[[], object]:
        def run() -> object:
            redact._redactor = redactor  # the collector's redactor, as set_extra_patterns does
            try:
                return [redact_spans(batch) for batch in records]
            finally:
                redact._redactor = current_redactor

        return run

    print()
    print(f"Against {revision}, medians of {pairs} interleaved pairs, CPU per span:")
    print()
    print(f"| stage | {revision} | now | now / {revision} |")
    print("|---|---:|---:|---:|")
    _compare(
        "worker: decode attributes to records",
        lambda: [decode_request(request) for request in parsed],
        lambda: [reference_decode(request) for request in parsed],
        spans,
        pairs,
    )
    _compare(
        "worker: redaction",
        redacting(current_redactor),
        redacting(reference_redactor),
        spans,
        pairs,
    )


WORKER_STAGES = ("decode", "redaction", "rows")


def count_child(requests: int, reference: str | None) -> None:
    """Under callgrind: decode, redaction and rows of ``requests`` requests between markers."""
    decode: Callable[[Any], Any] = decode_request
    if reference:
        decode, redact._redactor = _reference_stages(reference)
    parsed = []
    for body in build_requests((requests + 1) * BATCH_SIZE, run_tag=7):
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        parsed.append(request)
    build_rows(redact_spans(decode(parsed[0]).records))  # redactor and key caches warm
    mark_window()
    records = [decode(request).records for request in parsed[1:]]
    mark_window()
    redacted = [redact_spans(batch) for batch in records]
    mark_window()
    [build_rows(batch) for batch in redacted]
    mark_window()


def count_instructions(requests: int, reference: str | None) -> None:
    """Print instructions per span of each worker stage, now and at ``reference``."""
    if not shutil.which("valgrind"):
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    columns = {"now": None, **({reference: reference} if reference else {})}
    counts: dict[str, list[int]] = {}
    for label, revision in columns.items():
        with tempfile.TemporaryDirectory() as folder:
            command = [sys.executable, __file__, "--count-child", "--requests", str(requests)]
            subprocess.run(
                [
                    "valgrind",
                    "--tool=callgrind",
                    f"--dump-before={MARKED_FUNCTION}",
                    f"--callgrind-out-file={folder}/callgrind.out",
                    *command,
                    *(["--reference", revision] if revision else []),
                ],
                check=True,
                capture_output=True,
                env={**os.environ, "PYTHONHASHSEED": "0"},  # the same dict layouts in each child
            )
            # Part 1 is the start-up; parts 2-4 the stages.
            counts[label] = [
                part_instructions(Path(folder) / f"callgrind.out.{n}") for n in (2, 3, 4)
            ]
    spans = requests * BATCH_SIZE
    print(f"Instructions per span (callgrind, {spans:,} spans):")
    print()
    print("| stage | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for index, stage in enumerate(WORKER_STAGES):
        cells = " | ".join(f"{counts[label][index] / spans:,.0f}" for label in columns)
        print(f"| worker: {stage} | {cells} |")


def main() -> int:
    """Print the CPU per span of each stage, best of ``--repeats``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference", help="git revision whose decode and redaction to compare")
    parser.add_argument("--pairs", type=int, default=15, help="interleaved pairs (--reference)")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions under callgrind instead"
    )
    parser.add_argument("--count-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count_child:
        count_child(args.requests, args.reference)
        return 0
    if args.instructions:
        count_instructions(args.requests, args.reference)
        return 0
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
    if args.reference:
        compare_with_reference(args.reference, parsed, records, spans, args.pairs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
