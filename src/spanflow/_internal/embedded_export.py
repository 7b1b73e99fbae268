"""Embedded mode: an OpenTelemetry ``SpanExporter`` that writes spans into a local SQLite index.

Its ``run_records`` companion writes the SDK's run records (params, metric points, liveness)
into the same index, so the embedded path needs no OTLP logs at all.

With no collector configured, ``spanflow.configure()`` adds this exporter (behind a batch
processor), so ``python agent.py`` followed by ``spanflow runs list`` works on one machine. It
converts each ``ReadableSpan`` to the same ``SpanRecord`` the collector's OTLP decoder produces
(``span_records.span_record_from_readable``, which ``spanflow.testing`` uses too) and writes
through the collector's index store, its one seam there. Standard library only: no extras
needed.
Several processes may export into one index file at once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from spanflow import environment
from spanflow._internal.span_records import span_record_from_readable
from spanflow.query.records import RunRecord
from spanflow.redaction import VOUCHED
from spanflow_collector.index.content import BLOB_MIN_CHARS
from spanflow_collector.index.sqlite import SqliteRunIndexStore

logger = logging.getLogger(__name__)


def default_index_path() -> str:
    """``$SPANFLOW_DB``, else ``./.spanflow/index.db``."""
    return os.environ.get(environment.SPANFLOW_DB) or environment.Default.SPANFLOW_DB


class EmbeddedRunRecordExporter:
    """The run record side of an :class:`EmbeddedSpanExporter` (same store, same file)."""

    def __init__(self, owner: EmbeddedSpanExporter) -> None:
        self._owner = owner

    def export(self, records: Sequence[RunRecord]) -> bool:
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
        # then skips scanning them again when its rules are no more than the SDK's, and takes
        # the pieces of those it splits into blobs.
        VOUCHED.keep(pieces_min_chars=BLOB_MIN_CHARS)
        self._failure_logged = False
        self.run_records = EmbeddedRunRecordExporter(self)
        """Writes the SDK's run records into the same index (the route's record exporter)."""

    def export_run_records(self, records: Sequence[RunRecord]) -> bool:
        """Write run records in one transaction; False (logged once) when that failed."""
        store = self._store
        if store is None:
            return False
        try:
            store.write_batch((), records)
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
