"""Run records in the index: does a batch cost what it carries, or what the run already holds?

Writes one run's metric points into a fresh SQLite index in batches of ``--batch`` points (one
metrics record plus a heartbeat and 20 params re-logged per batch), and prints the time of the
first and the last batches. With per-key upserts and no re-parse of stored points, the last
batch of a 100,000-point run costs about what the first did. (A run recompute does read one row
per distinct key, so a run that keeps adding new params pays for them.) Then times the
SDK end to end: ``log_metric`` calls into the embedded index, flushed. Run:
``.venv/bin/python bench/bench_run_records.py``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import spanflow
from spanflow import attributes as attr
from spanflow.query.records import MetricPointValue, RunRecord
from spanflow_collector.index.sqlite import SqliteRunIndexStore

T0 = 1_800_000_000_000_000_000


def _batch(index: int, size: int) -> list[RunRecord]:
    root = {"run_id": "01BENCH", "segment": 0, "trace_id": "1" * 32, "span_id": "2" * 16}
    points = tuple(
        MetricPointValue("loss", 1.0 / (n + 1), n, T0 + n)
        for n in range(index * size, (index + 1) * size)
    )
    return [
        RunRecord(attr.RecordKindValue.METRICS, record_id=f"m{index}", time_unix_nano=T0,
                  points=points, **root),
        RunRecord(attr.RecordKindValue.HEARTBEAT, record_id=f"h{index}", time_unix_nano=T0,
                  **root),
        RunRecord(attr.RecordKindValue.PARAMS, record_id=f"p{index}", time_unix_nano=T0,
                  values={f"p{k}": index for k in range(20)}, **root),
    ]  # fmt: skip


def index_batches(points: int, batch: int) -> list[float]:
    """Seconds per ``write_batch`` call, in order."""
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteRunIndexStore(Path(folder) / "index.db", synchronous="NORMAL")
        timings = []
        for index in range(points // batch):
            records = _batch(index, batch)
            started = time.perf_counter()
            store.write_batch((), records)
            timings.append(time.perf_counter() - started)
        assert len(store.get_metric_history("01BENCH")) == points
        store.close()
    return timings


def sdk_end_to_end(points: int) -> tuple[float, float]:
    """Seconds for ``points`` log_metric calls, and for the flush into the embedded index."""
    with tempfile.TemporaryDirectory() as folder:
        spanflow.configure(exporters=["embedded"], db_path=Path(folder) / "index.db")
        with spanflow.run("bench"):
            started = time.perf_counter()
            for step in range(points):
                spanflow.log_metric("loss", 1.0 / (step + 1), step=step)
            logged = time.perf_counter()
        spanflow.force_flush()
        flushed = time.perf_counter()
        spanflow.shutdown()
    return logged - started, flushed - logged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2_000)
    options = parser.parse_args()
    timings = index_batches(options.points, options.batch)
    head = statistics.median(timings[:5]) * 1e3
    tail = statistics.median(timings[-5:]) * 1e3
    print(f"index: {len(timings)} batches of {options.batch} points")
    print(f"  first 5 batches  {head:8.1f} ms median")
    print(f"  last 5 batches   {tail:8.1f} ms median   (x{tail / head:.2f} the first)")
    logging_s, flush_s = sdk_end_to_end(options.points)
    per_call_us = logging_s / options.points * 1e6
    print(f"sdk: {options.points} log_metric calls {logging_s:.2f} s ({per_call_us:.1f} µs/call)")
    print(f"     flush into the embedded index {flush_s:.2f} s")


if __name__ == "__main__":
    main()
