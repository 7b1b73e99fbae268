"""Run records to an OTLP endpoint as the ``logs`` signal, through the endpoint's transport.

The records are encoded as one ``ExportLogsServiceRequest`` (``otlp_logs.encode_request``) and
queued on the same :class:`~spanflow._internal.otlp_transport.OtlpTransport` as the spans, so
they go over the configured protocol (gRPC ``LogsService/Export`` or HTTP ``/v1/logs``), wait
in the spool through an outage, and count in the route's ``force_flush``. An endpoint without
a logs service (a trace-only backend answering 404/405/415 or gRPC UNIMPLEMENTED) is told once
and sent no more records; its spans still go there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from spanflow._internal.otlp_logs import encode_request, provider_resource
from spanflow._internal.otlp_send import LOGS
from spanflow._internal.otlp_transport import OtlpTransport
from spanflow.query.records import RunRecord


class TransportRunRecordExporter:
    """A ``RunRecordExporter`` that queues encoded run records on an OTLP transport."""

    def __init__(
        self,
        transport: OtlpTransport,
        *,
        resource: Callable[[], Mapping[str, Any]] = provider_resource,
    ) -> None:
        self._transport = transport
        self._resource = resource

    def export(self, records: Sequence[RunRecord]) -> bool:
        if records and self._transport.accepts_logs:
            body = encode_request(records, self._resource())
            self._transport.submit(LOGS, body, len(records))
        return True  # queued: delivery (or the spool) is the transport's, flushed with the spans

    def shutdown(self) -> None:
        return  # the route's span exporter gives the shared transport back
