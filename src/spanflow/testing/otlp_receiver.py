"""``OTLPReceiver``: a small OTLP/HTTP receiver on loopback, for tests.

It answers ``POST /v1/traces`` (protobuf, optionally gzip-compressed) and ``POST /v1/logs``
(spanflow's run records), decodes each request with ``opentelemetry-proto`` into
:class:`~spanflow.query.records.SpanRecord`s and run records, and lets a test wait until what
it expects has arrived::

    with OTLPReceiver() as receiver:
        spanflow.configure(endpoint=receiver.endpoint)
        ...
        receiver.wait_for(lambda spans: any(s.name == "my-run" for s in spans))
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from spanflow._internal.otlp_logs import LOGS_PATH
from spanflow._internal.otlp_logs import decode_request as decode_logs_request
from spanflow.query.records import EventRecord, LinkRecord, RunRecord, SpanRecord
from spanflow.testing.records import CapturedRun, assemble_runs


def decode_any_value(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as a Python value (arrays as tuples, kvlists as dicts)."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return tuple(decode_any_value(item) for item in value.array_value.values)
    if which == "kvlist_value":
        return decode_attributes(value.kvlist_value.values)
    return getattr(value, which)


def decode_attributes(pairs: Any) -> dict[str, Any]:
    """OTLP ``KeyValue`` pairs as a dict."""
    return {pair.key: decode_any_value(pair.value) for pair in pairs if isinstance(pair, KeyValue)}


def _decode_span(span: Span, resource: dict[str, Any], scope: tuple[str, str]) -> SpanRecord:
    return SpanRecord(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex() or None,
        name=span.name,
        kind=span.kind,
        start_time_unix_nano=span.start_time_unix_nano,
        end_time_unix_nano=span.end_time_unix_nano,
        attributes=decode_attributes(span.attributes),
        events=tuple(
            EventRecord(event.name, event.time_unix_nano, decode_attributes(event.attributes))
            for event in span.events
        ),
        links=tuple(
            LinkRecord(link.trace_id.hex(), link.span_id.hex(), decode_attributes(link.attributes))
            for link in span.links
        ),
        status_code=span.status.code,
        status_message=span.status.message,
        resource_attributes=resource,
        scope_name=scope[0],
        scope_version=scope[1],
    )


def decode_request(body: bytes) -> list[SpanRecord]:
    """Every span in a protobuf ``ExportTraceServiceRequest``."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    records: list[SpanRecord] = []
    for resource_spans in request.resource_spans:
        resource = decode_attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = (scope_spans.scope.name, scope_spans.scope.version)
            records.extend(_decode_span(span, resource, scope) for span in scope_spans.spans)
    return records


def _first_matching(
    spans: list[SpanRecord], kind: str | None, run_id: str | None, name: str | None
) -> SpanRecord | None:
    for span in spans:
        if (
            (kind is None or span.spanflow_kind == kind)
            and (run_id is None or span.run_id == run_id)
            and (name is None or span.name == name)
        ):
            return span
    return None


@contextmanager
def export_to(receiver: OTLPReceiver, **options: Any) -> Iterator[None]:
    """Configure spanflow to export to ``receiver`` for a block; then flush and export nowhere.

    Args:
        receiver: The receiver to export to.
        **options: More ``spanflow.configure()`` arguments, e.g. ``heartbeat_interval_s``.
    """
    import spanflow

    spanflow.configure(endpoint=receiver.endpoint, **options)
    try:
        yield
    finally:
        spanflow.force_flush()
        spanflow.configure(exporters=["none"])


class OTLPReceiver:
    """An OTLP/HTTP receiver on ``127.0.0.1`` and an ephemeral port, serving on a thread.

    It takes traces on ``/v1/traces`` and, unless ``accept_logs=False``, spanflow's run records
    on ``/v1/logs``. With ``accept_logs=False`` it answers 404 there, like a trace-only backend
    (Jaeger, Phoenix), so spanflow sends it spans only.
    """

    def __init__(self, *, accept_logs: bool = True) -> None:
        self._spans: list[SpanRecord] = []
        self._records: list[RunRecord] = []
        self._request_headers: list[dict[str, str]] = []
        self._logs_requests = 0
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                refusal = receiver.answer_status
                if refusal is not None:
                    receiver._count_refusal()
                    self.send_error(refusal, "answer_status set by the test")
                    return
                if self.headers.get("Content-Encoding", "").lower() == "gzip":
                    body = gzip.decompress(body)
                if self.path.rstrip("/").endswith(LOGS_PATH):
                    self._export_logs(body)
                    return
                try:
                    spans = decode_request(body)
                except Exception as exc:
                    self.send_error(400, f"undecodable OTLP request: {exc}")
                    return
                receiver._add(spans, dict(self.headers.items()))
                self._answer(ExportTraceServiceResponse().SerializeToString())

            def _export_logs(self, body: bytes) -> None:
                with receiver._changed:
                    receiver._logs_requests += 1
                if not accept_logs:
                    self.send_error(404, "this receiver takes traces only")
                    return
                try:
                    records = decode_logs_request(body)
                except Exception as exc:
                    self.send_error(400, f"undecodable OTLP logs request: {exc}")
                    return
                receiver._add_records(records)
                self._answer(ExportLogsServiceResponse().SerializeToString())

            def _answer(self, payload: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output clean

        self.answer_status: int | None = None
        """When set (e.g. 503, 401), every request is answered with it and nothing is kept."""
        self._refusals = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """The base URL to export to (``/v1/traces`` is appended by exporters)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def traces_url(self) -> str:
        """The full OTLP/HTTP traces URL."""
        return self.endpoint + "/v1/traces"

    def start(self) -> OTLPReceiver:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="otlp-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _add_records(self, records: list[RunRecord]) -> None:
        with self._changed:
            self._records.extend(records)
            self._changed.notify_all()

    @property
    def logs_request_count(self) -> int:
        """How many ``/v1/logs`` requests arrived (answered or refused)."""
        with self._changed:
            return self._logs_requests

    def records(self) -> list[RunRecord]:
        """Every run record received so far, in arrival order."""
        with self._changed:
            return list(self._records)

    def wait_for_record(
        self, *, kind: str | None = None, run_id: str | None = None, timeout_s: float = 15.0
    ) -> RunRecord:
        """Block until a run record of ``kind`` (and run) arrived; returns the first such.

        Raises:
            TimeoutError: No such record arrived within ``timeout_s``.
        """

        def match() -> RunRecord | None:
            for record in self._records:
                if (kind is None or record.kind == kind) and (
                    run_id is None or record.run_id == run_id
                ):
                    return record
            return None

        with self._changed:
            if not self._changed.wait_for(lambda: match() is not None, timeout_s):
                raise TimeoutError(
                    f"OTLPReceiver: no run record of kind {kind!r} within {timeout_s}s; "
                    f"received {len(self._records)} records"
                )
            found = match()
            assert found is not None
            return found

    def _add(self, spans: list[SpanRecord], headers: dict[str, str]) -> None:
        with self._changed:
            self._spans.extend(spans)
            self._request_headers.append(headers)
            self._changed.notify_all()

    def _count_refusal(self) -> None:
        with self._changed:
            self._refusals += 1
            self._changed.notify_all()

    @property
    def refused_count(self) -> int:
        """How many requests were answered with ``answer_status``."""
        with self._changed:
            return self._refusals

    def wait_for_refusals(self, count: int, *, timeout_s: float = 15.0) -> None:
        """Block until ``count`` requests were answered with ``answer_status``.

        Raises:
            TimeoutError: Fewer arrived within ``timeout_s``.
        """
        with self._changed:
            if not self._changed.wait_for(lambda: self._refusals >= count, timeout_s):
                raise TimeoutError(f"OTLPReceiver: {self._refusals} of {count} refusals arrived")

    @property
    def request_count(self) -> int:
        """How many export requests arrived."""
        with self._changed:
            return len(self._request_headers)

    def request_headers(self) -> list[dict[str, str]]:
        """The HTTP headers of each export request, in arrival order."""
        with self._changed:
            return list(self._request_headers)

    def spans(self) -> list[SpanRecord]:
        """Every span received so far, in arrival order."""
        with self._changed:
            return list(self._spans)

    def runs(self) -> list[CapturedRun]:
        """The run segments whose root spans have arrived."""
        return assemble_runs(self.spans(), self.records())

    def wait_for_span(
        self,
        *,
        kind: str | None = None,
        run_id: str | None = None,
        name: str | None = None,
        timeout_s: float = 15.0,
    ) -> SpanRecord:
        """Block until a span matching every given field arrived; returns the first such span.

        Raises:
            TimeoutError: No such span arrived within ``timeout_s``.
        """
        spans = self.wait_for(
            lambda spans: _first_matching(spans, kind, run_id, name) is not None,
            timeout_s=timeout_s,
        )
        found = _first_matching(spans, kind, run_id, name)
        assert found is not None
        return found

    def wait_for(
        self, condition: Callable[[list[SpanRecord]], bool], *, timeout_s: float = 15.0
    ) -> list[SpanRecord]:
        """Block until ``condition(spans)`` holds; returns the spans.

        Raises:
            TimeoutError: The condition did not hold within ``timeout_s``.
        """
        with self._changed:
            if not self._changed.wait_for(lambda: condition(list(self._spans)), timeout_s):
                raise TimeoutError(
                    f"OTLPReceiver: condition not met within {timeout_s}s; "
                    f"received {len(self._spans)} spans"
                )
            return list(self._spans)
