"""Capture spanflow's spans and run records in memory for a test, with deterministic ids/clock.

OpenTelemetry lets a process set its global tracer provider once, so a capture does not make a
provider: it swaps the export routes of spanflow's one span processor for an in-memory
exporter and puts the previous routes back afterwards. Many captures can follow each other in
one process; each starts empty.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator

from spanflow._internal import clock, config, ids, provider_state, warn
from spanflow._internal.pipeline import ExportRoute
from spanflow._internal.record_queue import InMemoryRunRecordExporter
from spanflow._internal.span_records import span_record_from_readable
from spanflow.query.records import RunRecord, SpanRecord
from spanflow.testing.records import CapturedRun, assemble_runs

FIXED_EPOCH_NS = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
CLOCK_STEP_NS = 1_000_000  # each reading of the test clock advances it by 1 ms


class SequentialIdGenerator(IdGenerator):
    """Trace ids and span ids 1, 2, 3, ... (thread-safe)."""

    def __init__(self) -> None:
        self._trace_ids = itertools.count(1)
        self._span_ids = itertools.count(1)
        self._lock = threading.Lock()

    def generate_trace_id(self) -> int:
        with self._lock:
            return next(self._trace_ids)

    def generate_span_id(self) -> int:
        with self._lock:
            return next(self._span_ids)


class SteppingClock:
    """A clock that starts at :data:`FIXED_EPOCH_NS` and moves 1 ms per reading."""

    def __init__(self, start_ns: int = FIXED_EPOCH_NS, step_ns: int = CLOCK_STEP_NS) -> None:
        self._readings = itertools.count(start_ns, step_ns)
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            return next(self._readings)


class SpanCapture:
    """The spans and run records exported during a capture, and the runs they make up."""

    def __init__(
        self, exporter: InMemorySpanExporter, record_exporter: InMemoryRunRecordExporter
    ) -> None:
        self.exporter = exporter
        self.record_exporter = record_exporter

    def spans(self) -> list[SpanRecord]:
        """Every span ended so far, in end order."""
        return [span_record_from_readable(span) for span in self.exporter.get_finished_spans()]

    def records(self) -> list[RunRecord]:
        """Every run record so far (start, heartbeat, params, metric points, ...), in order.

        Run records carry what runs log and their liveness; see docs/attributes.md.
        """
        return self.record_exporter.get_records()

    def runs(self) -> list[CapturedRun]:
        """Every run segment whose root span has ended, in start order."""
        return assemble_runs(self.spans(), self.records())

    def runs_by_name(self) -> dict[str | None, CapturedRun]:
        """Run segments by name (the last one wins when names repeat)."""
        return {captured.name: captured for captured in self.runs()}

    def run(self, name: str) -> CapturedRun:
        """The one run segment called ``name``.

        Raises:
            AssertionError: No run, or more than one, has that name.
        """
        found = [captured for captured in self.runs() if captured.name == name]
        assert len(found) == 1, f"expected one run named {name!r}, found {len(found)}"
        return found[0]

    def spans_named(self, name: str) -> list[SpanRecord]:
        """The ended spans called ``name``."""
        return [span for span in self.spans() if span.name == name]

    def clear(self) -> None:
        """Forget the spans and run records captured so far."""
        self.exporter.clear()
        self.record_exporter.clear()


def _discard(_: object) -> None:
    return None


def _sdk_trace_module() -> ModuleType:
    import opentelemetry.sdk.trace as sdk_trace

    return sdk_trace


@contextmanager
def capture_spans(*, deterministic: bool = True) -> Iterator[SpanCapture]:
    """Capture every span spanflow's processor sees until the block ends.

    Args:
        deterministic: Sequential trace/span ids (when spanflow installed the tracer provider),
            a stepping clock for spanflow's and the SDK's timestamps, and reproducible run ids
            and generated names.

    Yields:
        The :class:`SpanCapture` to assert on.
    """
    if not provider_state.state.configured:
        config.configure(exporters=["none"])
    exporter = InMemorySpanExporter()
    record_exporter = InMemoryRunRecordExporter()
    processor = config.processor()
    previous_routes = processor.swap_routes(
        [ExportRoute(exporter, batch=False, records=record_exporter)]
    )
    warn.reset_once_registry()
    restore: list[Callable[[], None]] = []
    if deterministic:
        generator = config.id_generator()
        if generator is not None:
            previous_inner = generator.inner
            generator.inner = SequentialIdGenerator()
            restore.append(lambda: setattr(generator, "inner", previous_inner))
        stepping = SteppingClock()
        previous_clock = clock.set_clock(stepping)
        restore.append(lambda: _discard(clock.set_clock(previous_clock)))
        sdk_trace = _sdk_trace_module()
        if hasattr(sdk_trace, "time_ns"):
            # The SDK reads ``time_ns`` as a module global when spans start, end and get events.
            sdk_time_ns = sdk_trace.time_ns
            setattr(sdk_trace, "time_ns", stepping)  # noqa: B010
            restore.append(lambda: setattr(sdk_trace, "time_ns", sdk_time_ns))
        previous_source = ids.set_source(ids.IdSource(seed=0))
        restore.append(lambda: _discard(ids.set_source(previous_source)))
    try:
        yield SpanCapture(exporter, record_exporter)
    finally:
        for undo in reversed(restore):
            undo()
        processor.swap_routes(previous_routes)
        warn.reset_once_registry()
