"""Build the export routes ``configure()`` asked for: OTLP (any protocol), console, memory,
embedded.

Routes to spanflow destinations also carry run records: OTLP endpoints get them as the
``logs`` signal through the same transport (and spool), the embedded index writes them into
its store, ``memory`` keeps them.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from spanflow._internal.otlp_exporter import OtlpSpanExporter
from spanflow._internal.otlp_records import TransportRunRecordExporter
from spanflow._internal.otlp_send import OtlpEndpoint
from spanflow._internal.parameters import EXPORTER_NAMES, ConfigurationError
from spanflow._internal.pipeline import ExportRoute
from spanflow._internal.record_queue import InMemoryRunRecordExporter
from spanflow._internal.spool import Spool


def otlp_route(endpoint: OtlpEndpoint, spool: Spool | None) -> ExportRoute:
    """Spans and run records to one OTLP endpoint, both through its transport and spool."""
    spans = OtlpSpanExporter(endpoint, spool)
    return ExportRoute(spans, records=TransportRunRecordExporter(spans.transport))


def embedded_exporter(path: Path) -> SpanExporter:
    """The exporter writing into the local SQLite run index at ``path`` (imported lazily)."""
    try:
        from spanflow._internal.embedded_export import EmbeddedSpanExporter
    except ImportError as exc:
        raise ConfigurationError(
            "the embedded run index is not available in this installation "
            f"({exc}); set SPANFLOW_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT to export over "
            "OTLP, or pass configure(exporters=[...])"
        ) from exc
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        exporter: SpanExporter = EmbeddedSpanExporter(path)
    except OSError as exc:  # sqlite3.Error is not one: a file that is no index fails at export
        raise ConfigurationError(
            f"cannot open the embedded run index at {path} ({exc}); "
            "set db_path= or SPANFLOW_DB to a writable file"
        ) from exc
    return exporter


def build_routes(
    exporters: Sequence[str | SpanExporter],
    *,
    otlp_endpoints: Sequence[OtlpEndpoint],
    db_path: Path,
    spool: Spool | None = None,
) -> list[ExportRoute]:
    """One :class:`ExportRoute` per exporter (and per OTLP endpoint).

    Raises:
        ConfigurationError: an unknown exporter name, ``otlp`` without an endpoint, or the
            embedded index missing.
    """
    routes: list[ExportRoute] = []
    for choice in exporters:
        if isinstance(choice, SpanExporter):
            routes.append(ExportRoute(choice, batch=not isinstance(choice, InMemorySpanExporter)))
            continue
        name = choice.strip().lower()
        if name == "otlp":
            if not otlp_endpoints:
                raise ConfigurationError(
                    "exporter 'otlp' needs an endpoint: configure(endpoint=...), "
                    "SPANFLOW_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT"
                )
            for endpoint in otlp_endpoints:
                routes.append(otlp_route(endpoint, spool))
        elif name == "console":
            routes.append(ExportRoute(ConsoleSpanExporter(out=sys.stderr), batch=False))
        elif name == "memory":
            memory_records = InMemoryRunRecordExporter()
            routes.append(ExportRoute(InMemorySpanExporter(), batch=False, records=memory_records))
        elif name == "embedded":
            exporter = embedded_exporter(db_path)
            routes.append(ExportRoute(exporter, records=getattr(exporter, "run_records", None)))
        elif name in ("none", ""):
            continue
        else:
            raise ConfigurationError(
                f"unknown exporter {choice!r}; choose from {', '.join(EXPORTER_NAMES)} "
                "or pass a SpanExporter instance"
            )
    return routes
