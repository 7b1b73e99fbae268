"""Cost of the run model, as ratios against a bare OpenTelemetry SDK span in the same process.

Measured per operation (median over repeats of many iterations each):

- a bare SDK span: start and end a span on a plain ``TracerProvider`` (the unit, 1.00);
- an empty run: ``with spanflow.run():`` — root span, start record, heartbeat registration;
- an empty subrun: the same inside an open run (adds the parent link);
- ``log_metric`` inside a run: one run record queued for the background sender;
- a span inside a run: an ordinary SDK span started while a run is current.

Both sides export into an exporter that drops spans, through the same kind of batch processor
(spanflow's run records go to a record exporter that drops them, through its record queue),
so the figures compare the work done on the caller's thread. Run:
``.venv/bin/python bench/bench_runs.py --repeats 7``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import spanflow
from spanflow._internal import config
from spanflow._internal.pipeline import ExportRoute
from spanflow.query.records import RunRecord


class DroppingRecordExporter:
    """Counts run records and keeps nothing."""

    def __init__(self) -> None:
        self.count = 0

    def export(self, records: Sequence[RunRecord]) -> bool:
        self.count += len(records)
        return True

    def shutdown(self) -> None:
        return None


class DroppingExporter(SpanExporter):
    """Counts spans and keeps nothing."""

    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.count += len(spans)
        return SpanExportResult.SUCCESS


def per_call_us(
    operation: Callable[[], Any], iterations: int, repeats: int, settle: Callable[[], Any]
) -> float:
    """Median microseconds per call of ``operation`` over ``repeats`` timed loops.

    ``settle`` runs before each loop, untimed: it drains the exporters' queues, so no loop
    fills a queue and has spans dropped (which would flatter it).
    """
    for _ in range(max(1, iterations // 10)):  # warm up
        operation()
    timings = []
    for _ in range(repeats):
        settle()
        started = time.perf_counter()
        for _ in range(iterations):
            operation()
        timings.append((time.perf_counter() - started) / iterations * 1e6)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=1000, help="calls per timed loop")
    parser.add_argument("--repeats", type=int, default=5, help="timed loops per operation")
    options = parser.parse_args()

    bare_provider = TracerProvider()
    # A queue large enough that the tight loop never drops spans (dropping would flatter it).
    bare_provider.add_span_processor(BatchSpanProcessor(DroppingExporter(), max_queue_size=1 << 20))
    bare_tracer = bare_provider.get_tracer("bench")

    spanflow.configure(exporters=["none"], heartbeat_interval_s=3600)
    route = ExportRoute(DroppingExporter(), records=DroppingRecordExporter())
    config.processor().swap_routes([route])
    sdk_tracer = trace.get_tracer("bench")

    def bare_span() -> None:
        bare_tracer.start_span("bare").end()

    def empty_run() -> None:
        with spanflow.run("bench-run"):
            pass

    def span_in_run() -> None:
        sdk_tracer.start_span("inside").end()

    def log_metric() -> None:
        spanflow.log_metric("loss", 0.5, step=1)

    def settle() -> None:
        bare_provider.force_flush()
        spanflow.force_flush()

    results: list[tuple[str, float]] = []
    n, r = options.iterations, options.repeats
    results.append(("bare OTel SDK span", per_call_us(bare_span, n, r, settle)))
    results.append(("empty run (with spanflow.run())", per_call_us(empty_run, n, r, settle)))
    with spanflow.run("bench-parent"):
        results.append(("empty subrun", per_call_us(empty_run, n, r, settle)))
    with spanflow.run("bench-metrics"):
        results.append(("log_metric in a run", per_call_us(log_metric, n, r, settle)))
    with spanflow.run("bench-spans"):
        results.append(("span inside a run", per_call_us(span_in_run, n, r, settle)))
    spanflow.shutdown()
    bare_provider.shutdown()

    unit = results[0][1]
    print(f"{'operation':<34} {'µs/call':>9} {'x bare span':>12}")
    for label, micros in results:
        print(f"{label:<34} {micros:>9.1f} {micros / unit:>12.2f}")


if __name__ == "__main__":
    main()
