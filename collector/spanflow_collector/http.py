"""The OTLP/HTTP receiver: ``POST /v1/traces`` in protobuf or JSON, plain, gzip or deflate.

Status codes follow https://opentelemetry.io/docs/specs/otlp/#otlphttp-response: 200 with an
``ExportTraceServiceResponse`` (``partial_success`` for individually invalid spans) once the
valid spans are committed, 400 for an undecodable body, 413 for a body over the limit (before
or after decompression), 415 for an unknown content type or encoding, 503 with
``Retry-After`` when the ingest queue (or this client's share of it) is full or the store
failed. Error bodies are a ``google.rpc.Status`` in the request's encoding; a store failure is
answered with a generic message, its details go to the log only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Final, Protocol, TypeVar

import anyio
import anyio.to_thread
from google.rpc import code_pb2, status_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanflow_collector.admission import IngestGate, RequestTooLargeError, client_key
from spanflow_collector.bodies import (
    JSON,
    PROTOBUF,
    WBITS,
    BodyDecodeError,
    BodyTooLargeError,
    decode_traces,
)
from spanflow_collector.ingest import IngestPipeline, IngestUnavailableError, Payload
from spanflow_collector.limits import DECODE_THREADS, DEFAULT_MAX_BODY_BYTES
from spanflow_collector.otlp import DecodedSpans, OtlpDecodeError
from spanflow_collector.prepare import PrepareWorkers

TRACES_PATH: Final = "/v1/traces"
RETRY_AFTER_S: Final = 1
STORE_UNAVAILABLE: Final = "store unavailable, retry later"

_MEDIA_TYPES: Final = {PROTOBUF: PROTOBUF, "application/protobuf": PROTOBUF, JSON: JSON}


class Refusable(Protocol):
    """A decoded export that the answer reports on: items refused later are added to it."""

    def reject(self, reason: str) -> None: ...


DecodedT = TypeVar("DecodedT", bound=Refusable)
T = TypeVar("T")
# (body, encoding, media type) -> (what the answer reports on, what to queue, items refused)
Decode = Callable[[bytes, str, str], Awaitable[tuple[DecodedT, Payload, int]]]


class OtlpHttpReceiver:
    """Decodes OTLP/HTTP trace exports and acknowledges them once committed.

    Each request goes: admission (content type, encoding, the client's queue share) → body
    read within the size limit → decompression and decoding in a worker thread → per-request
    span cap → the gate's fair share → commit → answer.

    Args:
        pipeline: Where decoded spans go.
        gate: Admission to the ingest queue (span cap, per-client share).
        max_body_bytes: Limit on the body, checked on the wire and again after decompression.
        workers: Worker processes that decode bodies of at least ``process_decode_min_bytes``
            into rows (``prepare.py``), or None to decode every body in a thread.
        process_decode_min_bytes: Smallest body (as received) sent to ``workers``.
    """

    def __init__(
        self,
        pipeline: IngestPipeline,
        gate: IngestGate,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        workers: PrepareWorkers | None = None,
        process_decode_min_bytes: int = 0,
    ) -> None:
        self._pipeline = pipeline
        self._gate = gate
        self._max_body_bytes = max_body_bytes
        self._workers = workers if pipeline.accepts_prepared else None
        self._process_decode_min_bytes = process_decode_min_bytes
        self._decoders: anyio.CapacityLimiter | None = None

    def routes(self) -> list[Route]:
        """The Starlette routes this receiver serves."""
        return [Route(TRACES_PATH, self.export_traces, methods=["POST"])]

    async def export_traces(self, request: Request) -> Response:
        """Handle one ``POST /v1/traces``."""
        return await self.receive(request, self._decode, _export_response)

    async def receive(
        self,
        request: Request,
        decode: Decode[DecodedT],
        respond: Callable[[str, DecodedT], Response],
    ) -> Response:
        """One OTLP/HTTP export, whatever its signal: admission, body, ``decode``, cap, commit.

        ``decode`` turns the (still compressed) body into what the answer counts, what to queue
        and how many items were refused while decoding; ``respond`` writes the 200 answer.
        """
        content_type = request.headers.get("content-type", "")
        media_type = _MEDIA_TYPES.get(content_type.split(";", 1)[0].strip().lower())
        if media_type is None:
            return _status_response(
                415,
                JSON,
                code_pb2.INVALID_ARGUMENT,
                f"unsupported content type {content_type!r}; send {PROTOBUF} or {JSON}",
            )
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in WBITS and encoding not in ("identity", ""):
            return _status_response(
                415,
                media_type,
                code_pb2.INVALID_ARGUMENT,
                f"unsupported content encoding {encoding!r}; use gzip, deflate or none",
            )
        client = request.client
        sender = client_key(client.host, client.port) if client else client_key(None, None)
        try:
            self._gate.check_share(sender)
        except IngestUnavailableError as exc:
            return _unavailable(media_type, str(exc))
        try:
            body = await self._read_body(request)
            decoded, payload, refused = await decode(body, encoding, media_type)
        except BrokenProcessPool:
            return _unavailable(media_type, "the decoder restarted, retry")
        except BodyTooLargeError:
            return _status_response(
                413,
                media_type,
                code_pb2.RESOURCE_EXHAUSTED,
                f"request body exceeds {self._max_body_bytes} bytes",
            )
        except (BodyDecodeError, OtlpDecodeError) as exc:
            return _status_response(400, media_type, code_pb2.INVALID_ARGUMENT, str(exc))
        try:
            self._gate.check_size(len(payload) + refused)
        except RequestTooLargeError as exc:
            return _status_response(413, media_type, code_pb2.RESOURCE_EXHAUSTED, str(exc))
        try:
            committed = self._gate.submit(
                sender, len(payload), lambda: self._pipeline.submit(payload)
            )
            rejections = await asyncio.wrap_future(committed)
        except IngestUnavailableError as exc:
            return _unavailable(media_type, str(exc))
        except Exception:
            # The store failed for a transient reason (the pipeline logged why, and isolates
            # items it refuses for their data); a retry may succeed, and items already
            # committed are not stored twice. Its error text stays in the log: it can name
            # tables, hosts or users.
            return _unavailable(media_type, STORE_UNAVAILABLE)
        for reason in rejections:
            decoded.reject(reason)
        return respond(media_type, decoded)

    async def decode_in_thread(self, decode: Callable[[], T]) -> T:
        """Run ``decode`` off the event loop, so a 20 MiB body does not stall other requests."""
        if self._decoders is None:  # created on first use: it belongs to the running loop
            self._decoders = anyio.CapacityLimiter(DECODE_THREADS)
        return await anyio.to_thread.run_sync(decode, limiter=self._decoders)

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_body_bytes:
            raise BodyTooLargeError
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self._max_body_bytes:
                raise BodyTooLargeError
            chunks.append(chunk)
        return b"".join(chunks)

    async def _decode(
        self, body: bytes, encoding: str, media_type: str
    ) -> tuple[DecodedSpans, Payload, int]:
        """The request's answer counts and what to queue: rows from a worker, or records."""
        if self._workers is None or len(body) < self._process_decode_min_bytes:
            decoded = await self.decode_in_thread(
                lambda: decode_traces(body, encoding, media_type, self._max_body_bytes)
            )
            return decoded, decoded.records, decoded.rejected_spans
        future = self._workers.submit(body, encoding, media_type, self._max_body_bytes)
        try:
            prepared = await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            self._workers.forget_broken(exc)
            raise
        return prepared.decoded, prepared.spans, prepared.decoded.rejected_spans


def _export_response(media_type: str, decoded: DecodedSpans) -> Response:
    if media_type == PROTOBUF:
        message = ExportTraceServiceResponse()
        if decoded.rejected_spans:
            message.partial_success.rejected_spans = decoded.rejected_spans
            message.partial_success.error_message = decoded.error_message
        return Response(message.SerializeToString(), 200, media_type=PROTOBUF)
    document: dict[str, object] = {}
    if decoded.rejected_spans:
        # proto3 JSON writes int64 as a string; OTLP/JSON readers accept strings and numbers.
        document["partialSuccess"] = {
            "rejectedSpans": str(decoded.rejected_spans),
            "errorMessage": decoded.error_message,
        }
    return Response(json.dumps(document), 200, media_type=JSON)


def _unavailable(media_type: str, message: str) -> Response:
    response = _status_response(503, media_type, code_pb2.UNAVAILABLE, message)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _status_response(http_status: int, media_type: str, code: int, message: str) -> Response:
    if media_type == PROTOBUF:
        body = status_pb2.Status(code=code, message=message).SerializeToString()
        return Response(body, http_status, media_type=PROTOBUF)
    return Response(json.dumps({"code": code, "message": message}), http_status, media_type=JSON)
