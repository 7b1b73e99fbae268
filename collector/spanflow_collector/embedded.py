"""Embedded mode: an OpenTelemetry ``SpanExporter`` that writes spans into a local SQLite index.

Its ``run_records`` companion writes the SDK's run records (params, metric points, liveness)
into the same index, so the embedded path needs no OTLP logs at all.

With no collector configured, ``spanflow.configure()`` adds this exporter (behind a batch
processor), so ``python agent.py`` followed by ``spanflow runs list`` works on one machine. It
converts each ``ReadableSpan`` to the same ``SpanRecord`` the collector's OTLP decoder produces
and writes through the same store code. Standard library only: no extras needed.
Several processes may export into one index file at once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from spanflow import environment
from spanflow.query.records import (
    AttributeValue,
    EventRecord,
    LinkRecord,
    MetricPointValue,
    RunRecord,
    SpanRecord,
    StatusCode,
)
from spanflow.redaction import VOUCHED
from spanflow_collector.index.sqlite import SqliteRunIndexStore

if TYPE_CHECKING:
    # The SDK hands its own records across this seam; the collector never imports SDK runtime.
    from spanflow._internal.run_records import RunRecord as SdkRunRecord

logger = logging.getLogger(__name__)


def default_index_path() -> str:
    """``$SPANFLOW_DB``, else ``./.spanflow/index.db``."""
    return os.environ.get(environment.SPANFLOW_DB) or environment.Default.SPANFLOW_DB


def _attribute_value(value: Any) -> AttributeValue:
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return tuple(value)
    return str(value)


def _attributes(attributes: Mapping[str, Any] | None) -> dict[str, AttributeValue]:
    if not attributes:
        return {}
    return {key: _attribute_value(value) for key, value in attributes.items()}


# The spans of a TracerProvider share one Resource. Converting it once lets them share one
# attribute mapping too, which the store redacts and encodes once per batch instead of per span.
_last_resource: tuple[Resource | None, dict[str, AttributeValue]] = (None, {})


def _resource_attributes(resource: Resource) -> dict[str, AttributeValue]:
    global _last_resource
    known, converted = _last_resource  # one tuple: read and replaced atomically across threads
    if known is not resource:
        converted = _attributes(resource.attributes)
        _last_resource = (resource, converted)
    return converted


def span_record_from_readable(span: ReadableSpan) -> SpanRecord:
    """The SpanRecord of an ended SDK span (what the OTLP decoder would produce for it)."""
    context = span.context
    assert context is not None, "ended SDK spans always have a context"
    parent = span.parent
    scope = span.instrumentation_scope
    status = span.status
    start_ns = span.start_time or 0
    return SpanRecord(
        trace_id=format(context.trace_id, "032x"),
        span_id=format(context.span_id, "016x"),
        parent_span_id=format(parent.span_id, "016x") if parent is not None else None,
        name=span.name,
        # The Python API numbers SpanKind from INTERNAL = 0; OTLP from UNSPECIFIED = 0.
        kind=span.kind.value + 1,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=span.end_time or start_ns,
        attributes=_attributes(span.attributes),
        events=tuple(
            EventRecord(event.name, event.timestamp or start_ns, _attributes(event.attributes))
            for event in span.events
        ),
        links=tuple(
            LinkRecord(
                format(link.context.trace_id, "032x"),
                format(link.context.span_id, "016x"),
                _attributes(link.attributes),
            )
            for link in span.links
        ),
        status_code=(
            StatusCode.ERROR
            if status.status_code.name == "ERROR"
            else StatusCode.OK
            if status.status_code.name == "OK"
            else StatusCode.UNSET
        ),
        status_message=status.description or "",
        resource_attributes=_resource_attributes(span.resource),
        scope_name=scope.name if scope is not None else "",
        scope_version=(scope.version or "") if scope is not None else "",
    )


def run_record_from_sdk(record: SdkRunRecord) -> RunRecord:
    """The collector's RunRecord for a record the SDK made (what the logs decoder would give)."""
    return RunRecord(
        kind=record.kind,
        run_id=record.run_id,
        record_id=record.record_id,
        segment=record.segment,
        trace_id=record.trace_id,
        span_id=record.span_id,
        time_unix_nano=record.time_ns,
        fields=_attributes(record.fields),
        values=_attributes(record.values),
        tags=record.tags,
        points=tuple(
            MetricPointValue(point.name, point.value, point.step, point.time_ns)
            for point in record.points
        ),
        content=record.content,
    )


class EmbeddedRunRecordExporter:
    """The run record side of an :class:`EmbeddedSpanExporter` (same store, same file)."""

    def __init__(self, owner: EmbeddedSpanExporter) -> None:
        self._owner = owner

    def export(self, records: Sequence[SdkRunRecord]) -> bool:
        return self._owner.export_run_records(records)

    def shutdown(self) -> None:
        return None  # the span exporter closes the store


class EmbeddedSpanExporter(SpanExporter):
    """Exports finished spans into the SQLite run index at ``path``.

    Use it behind a ``BatchSpanProcessor``: each export is one transaction, durable when
    ``export`` returns SUCCESS. A failed write is logged and reported as FAILURE; it never
    raises into the processor.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        """Open (creating parents, schema and file as needed) the index at ``path``.

        Args:
            path: the index file; default ``$SPANFLOW_DB`` or ``./.spanflow/index.db``.

        Raises:
            SchemaVersionError: the file was written by a newer spanflow.
        """
        self.path = os.fspath(path) if path is not None else default_index_path()
        self._store: SqliteRunIndexStore | None = SqliteRunIndexStore(self.path)
        # The SDK's message JSON reaches this store as the very strings it redacted: the store
        # then skips scanning them again when its rules are no more than the SDK's.
        VOUCHED.keep()
        self._failure_logged = False
        self.run_records = EmbeddedRunRecordExporter(self)
        """Writes the SDK's run records into the same index (the route's record exporter)."""

    def export_run_records(self, records: Sequence[SdkRunRecord]) -> bool:
        """Write run records in one transaction; False (logged once) when that failed."""
        store = self._store
        if store is None:
            return False
        try:
            store.write_batch((), [run_record_from_sdk(record) for record in records])
        except Exception:
            if not self._failure_logged:
                self._failure_logged = True
                logger.exception("spanflow could not write run data to the index %s", self.path)
            return False
        return True

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Write ``spans`` in one transaction."""
        store = self._store
        if store is None:
            return SpanExportResult.FAILURE
        try:
            store.write_spans([span_record_from_readable(span) for span in spans])
        except Exception:
            if not self._failure_logged:
                self._failure_logged = True
                logger.exception("spanflow could not write spans to the run index %s", self.path)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing is buffered here: every export commits before returning."""
        return True

    def shutdown(self) -> None:
        """Close the index; later exports fail without raising."""
        store, self._store = self._store, None
        if store is not None:
            store.close()
