"""``POST /v1/logs``: spanflow run records over OTLP/HTTP (protobuf or JSON, plain/gzip/deflate).

Same rules as ``/v1/traces`` (content types, encodings, body limit, admission, status codes; the
access middleware asks for the ingest scope on every ``/v1/`` POST), and the same
acknowledge-after-commit ingest pipeline. Log records that are not spanflow run records (other
SDKs' logs) are acknowledged and dropped: this collector indexes runs, it is not a log store.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Final

import anyio
import anyio.to_thread
from google.rpc import code_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanflow_collector.admission import RequestTooLargeError, client_key
from spanflow_collector.bodies import (
    JSON,
    PROTOBUF,
    WBITS,
    BodyDecodeError,
    BodyTooLargeError,
    decompress,
)
from spanflow_collector.http import (
    _MEDIA_TYPES,
    STORE_UNAVAILABLE,
    OtlpHttpReceiver,
    _status_response,
    _unavailable,
)
from spanflow_collector.ingest import IngestUnavailableError
from spanflow_collector.limits import DECODE_THREADS
from spanflow_collector.otlp.limits import OtlpDecodeError
from spanflow_collector.otlp.logs import parse_json_logs, parse_protobuf_logs
from spanflow_collector.otlp.run_records import DecodedRunRecords

LOGS_PATH: Final = "/v1/logs"
_PARSERS: Final[dict[str, Callable[[bytes], DecodedRunRecords]]] = {
    PROTOBUF: parse_protobuf_logs,
    JSON: parse_json_logs,
}


class OtlpHttpLogsReceiver(OtlpHttpReceiver):
    """Decodes OTLP/HTTP logs exports into run records and acknowledges them once committed.

    The same steps as traces: admission (content type, encoding, the client's queue share) →
    body read within the size limit → decompression and decoding in a worker thread → the
    per-request cap (a run record counts as one item) → commit → answer.
    """

    def routes(self) -> list[Route]:
        """The Starlette route this receiver serves."""
        return [Route(LOGS_PATH, self.export_logs, methods=["POST"])]

    async def export_logs(self, request: Request) -> Response:
        """Handle one ``POST /v1/logs``."""
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
            decoded = await self._decode_logs_in_thread(body, encoding, media_type)
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
            self._gate.check_size(len(decoded.records) + decoded.rejected_log_records)
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
            # The pipeline logged the store's error; it stays out of the answer.
            return _unavailable(media_type, STORE_UNAVAILABLE)
        for reason in rejections:
            decoded.reject(reason)
        return _logs_response(media_type, decoded)

    async def _decode_logs_in_thread(
        self, body: bytes, encoding: str, media_type: str
    ) -> DecodedRunRecords:
        """Inflate and decode off the event loop, like trace bodies."""
        if self._decoders is None:  # created on first use: it belongs to the running loop
            self._decoders = anyio.CapacityLimiter(DECODE_THREADS)
        return await anyio.to_thread.run_sync(
            _decode_logs,
            body,
            encoding,
            media_type,
            self._max_body_bytes,
            limiter=self._decoders,
        )


def _decode_logs(body: bytes, encoding: str, media_type: str, max_bytes: int) -> DecodedRunRecords:
    if encoding in WBITS:
        body = decompress(body, encoding, max_bytes)
    return _PARSERS[media_type](body)


def _logs_response(media_type: str, decoded: DecodedRunRecords) -> Response:
    if media_type == PROTOBUF:
        message = ExportLogsServiceResponse()
        if decoded.rejected_log_records:
            message.partial_success.rejected_log_records = decoded.rejected_log_records
            message.partial_success.error_message = decoded.error_message
        return Response(message.SerializeToString(), 200, media_type=PROTOBUF)
    document: dict[str, object] = {}
    if decoded.rejected_log_records:
        document["partialSuccess"] = {
            "rejectedLogRecords": str(decoded.rejected_log_records),
            "errorMessage": decoded.error_message,
        }
    return Response(json.dumps(document), 200, media_type=JSON)
