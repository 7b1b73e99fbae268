"""``OtlpSpanExporter``: spans encoded as an OTLP request and handed to the endpoint's transport.

``export()`` only encodes and queues, so the batch processor, the run markers and the exit path
never wait on the network; delivery, retries and the spool belong to
:class:`~spanflow._internal.otlp_transport.OtlpTransport`. ``force_flush(timeout)`` is where a
caller waits, and it tells the truth: True only when the endpoint accepted everything.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from spanflow._internal import otlp_shared
from spanflow._internal.otlp_send import TRACES, OtlpEndpoint
from spanflow._internal.otlp_transport import OtlpTransport
from spanflow._internal.spool import Spool

CLOSE_TIMEOUT_S = 0.5


class OtlpSpanExporter(SpanExporter):
    """Exports spans to one OTLP endpoint (any protocol) through its shared transport."""

    def __init__(self, endpoint: OtlpEndpoint, spool: Spool | None) -> None:
        self.endpoint = endpoint
        self._transport = otlp_shared.acquire(endpoint, spool)
        self._closed = False

    @property
    def transport(self) -> OtlpTransport:
        """The endpoint's transport (the route's run records go through it too)."""
        return self._transport

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        body = encode_spans(spans).SerializeToString()
        self._transport.submit(TRACES, body, len(spans))
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._transport.flush(timeout_millis / 1000)

    def shutdown(self) -> None:
        if not self._closed:
            self._closed = True
            otlp_shared.release(self._transport, timeout_s=CLOSE_TIMEOUT_S)
