"""``POST /v1/logs``: spanflow run records over OTLP/HTTP (protobuf or JSON, plain/gzip/deflate).

Same rules as ``/v1/traces`` (content types, encodings, body limit, admission, status codes; the
access middleware asks for the ingest scope on every ``/v1/`` POST), and the same
acknowledge-after-commit ingest pipeline. Log records that are not spanflow run records (other
SDKs' logs) are acknowledged and dropped: this collector indexes runs, it is not a log store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Final

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanflow.query.records import RunRecord
from spanflow_collector.bodies import (
    JSON,
    PROTOBUF,
    WBITS,
    decompress,
)
from spanflow_collector.http import (
    OtlpHttpReceiver,
)
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
        return await self.receive(request, self._decode_logs, _logs_response)

    async def _decode_logs(
        self, body: bytes, encoding: str, media_type: str
    ) -> tuple[DecodedRunRecords, list[RunRecord], int]:
        """Inflate and decode off the event loop, like trace bodies."""
        decoded = await self.decode_in_thread(
            lambda: _decode_logs(body, encoding, media_type, self._max_body_bytes)
        )
        return decoded, decoded.records, decoded.rejected_log_records


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
