"""The packed recording attribute: what earlier versions packed still unpacks, and back."""

from __future__ import annotations

import base64
import json
import zlib

from spanflow.replaying._exchange import Exchange, Recording, pack, unpack

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
