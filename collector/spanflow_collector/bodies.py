"""OTLP/HTTP trace bodies to decoded spans: inflation within the size limit, then parsing.

Plain functions of bytes, so the HTTP receiver can run them in a worker thread or, for large
bodies, in a worker process (``prepare.py``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Final

from spanflow_collector.otlp import (
    DecodedSpans,
    parse_json_request,
    parse_protobuf_request,
)

PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"
_PARSERS: Final[dict[str, Callable[[bytes], DecodedSpans]]] = {
    PROTOBUF: parse_protobuf_request,
    JSON: parse_json_request,
}
# zlib wbits: gzip framing; zlib framing (HTTP "deflate"); raw deflate, which some clients send.
WBITS: Final = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": None}


class BodyTooLargeError(Exception):
    """The body, inflated, exceeds the limit (answered 413)."""


class BodyDecodeError(Exception):
    """The body is not valid in its content encoding (answered 400)."""


def decode_traces(body: bytes, encoding: str, media_type: str, max_bytes: int) -> DecodedSpans:
    """Inflate (``encoding`` from ``WBITS``, or identity) and parse a trace export body.

    Raises:
        BodyTooLargeError: inflated past ``max_bytes``.
        BodyDecodeError: a broken gzip or deflate stream.
        OtlpDecodeError: not a valid OTLP trace export in ``media_type``.
    """
    if encoding in WBITS:
        body = decompress(body, encoding, max_bytes)
    return _PARSERS[media_type](body)


def decompress(body: bytes, encoding: str, max_bytes: int) -> bytes:
    """Inflate incrementally, stopping as soon as the output passes ``max_bytes`` (zip bombs)."""
    wbits = WBITS[encoding]
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
                raise BodyTooLargeError
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
        raise BodyDecodeError(f"invalid {encoding} body: {exc}") from exc
    if not inflater.eof:
        raise BodyDecodeError(f"truncated {encoding} body")
    return bytes(out)
