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
import zlib
from collections.abc import Callable
from typing import Final

import anyio
import anyio.to_thread
from google.rpc import code_pb2, status_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanflow_collector.admission import IngestGate, RequestTooLargeError, client_key
from spanflow_collector.ingest import IngestPipeline, IngestUnavailableError
from spanflow_collector.limits import DECODE_THREADS, DEFAULT_MAX_BODY_BYTES
from spanflow_collector.otlp import (
    DecodedSpans,
    OtlpDecodeError,
    parse_json_request,
    parse_protobuf_request,
)

TRACES_PATH: Final = "/v1/traces"
RETRY_AFTER_S: Final = 1
STORE_UNAVAILABLE: Final = "store unavailable, retry later"

PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"
_MEDIA_TYPES: Final = {PROTOBUF: PROTOBUF, "application/protobuf": PROTOBUF, JSON: JSON}
_PARSERS: Final[dict[str, Callable[[bytes], DecodedSpans]]] = {
    PROTOBUF: parse_protobuf_request,
    JSON: parse_json_request,
}
# zlib wbits: gzip framing; zlib framing (HTTP "deflate"); raw deflate, which some clients send.
_WBITS: Final = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": None}


class _BodyTooLargeError(Exception):
    pass


class _BodyDecodeError(Exception):
    pass


class OtlpHttpReceiver:
    """Decodes OTLP/HTTP trace exports and acknowledges them once committed.

    Each request goes: admission (content type, encoding, the client's queue share) → body
    read within the size limit → decompression and decoding in a worker thread → per-request
    span cap → the gate's fair share → commit → answer.

    Args:
        pipeline: Where decoded spans go.
        gate: Admission to the ingest queue (span cap, per-client share).
        max_body_bytes: Limit on the body, checked on the wire and again after decompression.
    """

    def __init__(
        self,
        pipeline: IngestPipeline,
        gate: IngestGate,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self._pipeline = pipeline
        self._gate = gate
        self._max_body_bytes = max_body_bytes
        self._decoders: anyio.CapacityLimiter | None = None

    def routes(self) -> list[Route]:
        """The Starlette routes this receiver serves."""
        return [Route(TRACES_PATH, self.export_traces, methods=["POST"])]

    async def export_traces(self, request: Request) -> Response:
        """Handle one ``POST /v1/traces``."""
        media_type = _MEDIA_TYPES.get(
            request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        )
        if media_type is None:
            return _status_response(
                415,
                JSON,
                code_pb2.INVALID_ARGUMENT,
                f"unsupported content type {request.headers.get('content-type')!r}; "
                f"send {PROTOBUF} or {JSON}",
            )
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in _WBITS and encoding not in ("identity", ""):
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
            decoded = await self._decode_in_thread(body, encoding, media_type)
        except _BodyTooLargeError:
            return _status_response(
                413,
                media_type,
                code_pb2.RESOURCE_EXHAUSTED,
                f"request body exceeds {self._max_body_bytes} bytes",
            )
        except (_BodyDecodeError, OtlpDecodeError) as exc:
            return _status_response(400, media_type, code_pb2.INVALID_ARGUMENT, str(exc))
        try:
            self._gate.check_size(len(decoded.records) + decoded.rejected_spans)
        except RequestTooLargeError as exc:
            return _status_response(413, media_type, code_pb2.RESOURCE_EXHAUSTED, str(exc))
        try:
            committed = self._gate.submit(
                sender, len(decoded.records), lambda: self._pipeline.submit(decoded.records)
            )
            rejections = await asyncio.wrap_future(committed)
        except IngestUnavailableError as exc:
            return _unavailable(media_type, str(exc))
        except Exception:
            # The store failed for a transient reason (the pipeline logged why, and isolates
            # spans it refuses for their data); a retry may succeed, and spans already
            # committed are not stored twice. Its error text stays in the log: it can name
            # tables, hosts or users.
            return _unavailable(media_type, STORE_UNAVAILABLE)
        for reason in rejections:
            decoded.reject(reason)
        return _export_response(media_type, decoded)

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_body_bytes:
            raise _BodyTooLargeError
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self._max_body_bytes:
                raise _BodyTooLargeError
            chunks.append(chunk)
        return b"".join(chunks)

    async def _decode_in_thread(self, body: bytes, encoding: str, media_type: str) -> DecodedSpans:
        """Inflate and decode off the event loop, so a 20 MiB body does not stall other requests."""
        if self._decoders is None:  # created on first use: it belongs to the running loop
            self._decoders = anyio.CapacityLimiter(DECODE_THREADS)
        return await anyio.to_thread.run_sync(
            _decode, body, encoding, media_type, self._max_body_bytes, limiter=self._decoders
        )


def _decode(body: bytes, encoding: str, media_type: str, max_bytes: int) -> DecodedSpans:
    if encoding in _WBITS:
        body = _decompress(body, encoding, max_bytes)
    return _PARSERS[media_type](body)


def _decompress(body: bytes, encoding: str, max_bytes: int) -> bytes:
    """Inflate incrementally, stopping as soon as the output passes ``max_bytes`` (zip bombs)."""
    wbits = _WBITS[encoding]
    if wbits is None:  # "deflate" means zlib framing, but raw deflate is common in the wild
        has_zlib_header = (
            len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0
        )
        wbits = zlib.MAX_WBITS if has_zlib_header else -zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    out = bytearray()
    data = body
    try:
        while data:
            out += inflater.decompress(data, max_bytes + 1 - len(out))
            if len(out) > max_bytes:
                raise _BodyTooLargeError
            data = inflater.unconsumed_tail
            rest = inflater.unused_data
            if not data and inflater.eof and wbits > 16 and rest.strip(b"\x00"):
                # A gzip body may hold several members (RFC 1952 §2.2, as `cat a.gz b.gz`
                # makes): their contents concatenated are the body. Dropping all but the
                # first would acknowledge spans that were never read. (Zero padding after
                # the last member is ignored, as gzip(1) does.)
                data = rest
                inflater = zlib.decompressobj(wbits)
    except zlib.error as exc:
        raise _BodyDecodeError(f"invalid {encoding} body: {exc}") from exc
    if not inflater.eof:
        raise _BodyDecodeError(f"truncated {encoding} body")
    return bytes(out)


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
