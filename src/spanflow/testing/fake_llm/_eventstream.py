"""The AWS event-stream binary framing (``application/vnd.amazon.eventstream``).

Each message is a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes), the
headers (name length, name, value type 7 = string, value length, value), the payload, and a
CRC32 of everything before it. Bedrock Runtime streams use three headers per message:
``:message-type`` (``event``), ``:event-type`` and ``:content-type``. See https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING_HEADER = 7


def _crc32(data: bytes, start: int = 0) -> int:
    return zlib.crc32(data, start) & 0xFFFFFFFF


def _encode_headers(headers: tuple[tuple[str, str], ...]) -> bytes:
    encoded = bytearray()
    for name, value in headers:
        name_bytes, value_bytes = name.encode(), value.encode()
        encoded += struct.pack(">B", len(name_bytes)) + name_bytes
        encoded += struct.pack(">BH", _STRING_HEADER, len(value_bytes)) + value_bytes
    return bytes(encoded)


@dataclass(frozen=True)
class EventFrame:
    """One event-stream message; ``corrupt`` spoils its message CRC (a malformed stream)."""

    headers: tuple[tuple[str, str], ...]
    payload: bytes
    corrupt: bool = False

    @classmethod
    def event(cls, event_type: str, payload: Any) -> EventFrame:
        """An ``event`` message whose payload is ``payload`` as JSON."""
        return cls(
            (
                (":event-type", event_type),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ),
            json.dumps(payload, separators=(",", ":")).encode(),
        )

    def spoiled(self) -> EventFrame:
        """The same message with a wrong message CRC, which the client rejects."""
        return EventFrame(self.headers, self.payload, corrupt=True)

    def encode(self) -> bytes:
        """The message as it goes on the wire."""
        headers = _encode_headers(self.headers)
        total_length = 12 + len(headers) + len(self.payload) + 4
        lengths = struct.pack(">II", total_length, len(headers))
        prelude = lengths + struct.pack(">I", _crc32(lengths))
        message = prelude + headers + self.payload
        crc = _crc32(message) ^ (0xFFFFFFFF if self.corrupt else 0)
        return message + struct.pack(">I", crc)
