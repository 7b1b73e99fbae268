"""The packed recording attribute: what earlier versions packed still unpacks, and back."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import orjson
import pytest

from spanflow.replaying._exchange import (
    KEPT_RESPONSE_HEADERS,
    Exchange,
    Recording,
    kept_raw_headers,
    pack,
    unpack,
)

# A recording packed by the previous version (stdlib JSON with \u00XX escapes, 32 KiB window):
# a refused connection, then a streamed body cut short whose second chunk is not UTF-8.
PREVIOUS_PACKED = (
    "eAEdjs0OgjAQhF/FzLlGfg6GXo1PQTnUshUMtk27GJHw7lIu38wks5Nd8YEsBehrBu2elCDbFRSjj7vDzTtHhu9H"
    "Fohk50Q9uk2sSKx53vtVUQgMpHuK+bqF8Y7J8ZmXQBDQIUyj0Tx6d3kl79B1Ag/fL5BYFVhBKhht1VwUps7UzSkL"
    "VZmNOVgrbMpla+0+msbf8Wt5FdU+Z/w7TMQEafWUaOu2P7tDR2A="
)
RECORDING = Recording(
    (
        Exchange(error_type="ConnectError", error_message="refused"),
        Exchange(
            status=200,
            headers=(("content-type", "application/json"),),
            chunks=('{"t":"café ✓"}'.encode(), b"\n\xff"),
            complete=False,
        ),
    )
)


def test_a_recording_packed_by_the_previous_version_unpacks_unchanged() -> None:
    """Recordings already in an index replay byte for byte, chunk boundaries included."""
    assert unpack(PREVIOUS_PACKED) == RECORDING


def test_a_packed_recording_is_zlib_json_any_reader_can_open() -> None:
    """Packed now, a recording is still version-1 JSON under zlib and base64, and round-trips."""
    packed = pack(RECORDING)
    document = json.loads(zlib.decompress(base64.b64decode(packed)))
    assert document["v"] == 1
    assert document["exchanges"][0] == {"error": ["ConnectError", "refused"]}
    assert document["exchanges"][1]["body"].encode("latin-1") == RECORDING.exchanges[1].body
    assert unpack(packed) == RECORDING


def test_large_recordings_round_trip() -> None:
    """A body longer than the compression window (a long stream) comes back whole."""
    body = b"".join(f'data: {{"i": {i}, "t": "tok\u00e9n"}}\n\n'.encode() for i in range(3000))
    recording = Recording((Exchange(status=200, chunks=(body[:70_000], body[70_000:])),))
    assert unpack(pack(recording)) == recording


def previous_pack(recording: Recording) -> str:
    """``pack`` as the previous version wrote it (headers as lists, the body always joined)."""
    exchanges = []
    for exchange in recording.exchanges:
        item: dict[str, Any] = {}
        if exchange.error_type is not None:
            item["error"] = [exchange.error_type, exchange.error_message]
        else:
            item["status"] = exchange.status
            item["headers"] = [list(pair) for pair in exchange.headers]
            item["body"] = b"".join(exchange.chunks).decode("latin-1")
            item["sizes"] = [len(chunk) for chunk in exchange.chunks]
            if not exchange.complete:
                item["complete"] = False
            if exchange.redacted:
                item["redacted"] = True
        exchanges.append(item)
    raw = orjson.dumps({"v": 1, "exchanges": exchanges})
    window_bits = min(max(len(raw).bit_length(), 10), zlib.MAX_WBITS)
    deflate = zlib.compressobj(1, zlib.DEFLATED, window_bits, window_bits - 7)
    return base64.b64encode(deflate.compress(raw) + deflate.flush()).decode("ascii")


@pytest.mark.parametrize(
    "recording",
    [
        RECORDING,
        Recording((Exchange(status=200, chunks=(b'{"a":1}',)),)),
        Recording((Exchange(status=204),)),
        Recording((Exchange(status=200, headers=(("x-request-id", "r"),), chunks=(b"",)),)),
        Recording(
            (
                Exchange(status=500, chunks=(b"e",), redacted=True),
                Exchange(status=200, chunks=(b"a", b"\xe2\x9c", b"\x93" * 5000), complete=False),
            )
        ),
    ],
)
def test_packed_text_is_what_the_previous_version_wrote(recording: Recording) -> None:
    """The attribute text itself is unchanged: recordings of the same responses stay equal."""
    assert pack(recording) == previous_pack(recording)


@pytest.mark.parametrize("flavour", ["httpx", "httpx2"])
def test_kept_raw_headers_are_the_kept_decoded_headers(flavour: str) -> None:
    """Only the kept headers are decoded, to what decoding all of them and keeping gave."""
    module = pytest.importorskip(flavour)
    for value in (b"plain", "caf\u00e9 \u2713".encode(), b"latin \xe9\xff"):
        headers = module.Headers(
            [
                (b"Content-Type", b"application/json"),
                (b"X-Request-ID", value),
                (b"Set-Cookie", b"a=b"),
                (b"retry-after", b"1"),
                (b"Retry-After", b"2"),
                (b"Date", value),
            ]
        )
        decoded_then_kept = tuple(
            (name.lower(), text)
            for name, text in headers.multi_items()
            if name.lower() in KEPT_RESPONSE_HEADERS
        )
        assert kept_raw_headers(headers.raw, headers.encoding) == decoded_then_kept
