"""What replay keeps of one LLM call's HTTP traffic, and how it is packed into a span attribute.

An *exchange* is one HTTP response as the client received it (status, the few headers a client
reads, the body as the byte chunks the server sent them), or the transport error that replaced
it. A call made with retries has several exchanges, in order. They are packed as zlib-compressed
JSON in base64 text: the index stores any long attribute string once by content hash
(``collector/spanflow_collector/index/content.py``), so a recording is content-addressed
without a table of its own, and travels to any OTLP backend like every other attribute.

A call is found again by the hash of its *canonical request*: provider, method, URL path and
the JSON body with sorted keys and the volatile fields below dropped.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from spanflow.redaction import MARKER_PREFIX

FORMAT_VERSION = 1
_MIN_WINDOW_BITS = 10  # smaller windows gain no time (zlib raises 8 to 9 anyway)
REDACTION_MARKER = MARKER_PREFIX.encode("ascii")

# Body fields that do not change what the model answers but may differ between two runs of
# the same program (end-user ids, cache routing keys, free metadata).
VOLATILE_BODY_FIELDS = frozenset({"user", "metadata", "prompt_cache_key", "safety_identifier"})

# Response headers a client library reads (content type, request ids, retry advice); the rest
# (dates, rate-limit counters, cookies, server names) are not kept.
KEPT_RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "x-request-id",
        "request-id",
        "openai-processing-ms",
        "openai-version",
        "retry-after",
        "retry-after-ms",
        "x-should-retry",
    }
)


@dataclass(frozen=True)
class Exchange:
    """One recorded HTTP response (``status`` > 0) or transport error (``error_type`` set)."""

    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    chunks: tuple[bytes, ...] = ()
    error_type: str | None = None
    error_message: str = ""
    complete: bool = True
    """False when the client stopped reading a streamed body before its end."""
    redacted: bool = False
    """True when secret redaction changed the body: it is not what the provider sent."""

    @property
    def body(self) -> bytes:
        """The whole body."""
        return b"".join(self.chunks)


@dataclass(frozen=True)
class Recording:
    """Every exchange of one LLM call, in the order the client made the requests."""

    exchanges: tuple[Exchange, ...] = field(default_factory=tuple)


class RecordingFormatError(ValueError):
    """A recorded exchange attribute that this spanflow cannot read."""


def canonical_request_hash(
    provider: str, method: str, path: str, body: bytes, *, operation: str = ""
) -> str:
    """The match key of a request: 32 hex chars of BLAKE2b over its canonical form.

    The canonical form is the stdlib's ``json.dumps`` of ``[provider, operation, METHOD, path,
    body]`` with sorted keys, compact separators and no ASCII escaping, as UTF-8 (lone
    surrogates passed through): keys recorded by any version must stay what they were.
    """
    document = [provider, operation, method.upper(), path, _canonical_body(body)]
    try:
        # orjson writes that same text for every value the parse below can produce except
        # floats, which it formats otherwise (``1e-7``, not ``1e-07``): they are parsed as
        # _StdlibFloat and written by the stdlib's own rule. What orjson cannot write (ints
        # beyond 64 bits, lone surrogates, deep nesting) falls back to the stdlib whole.
        encoded = orjson.dumps(
            document,
            default=_stdlib_float_text,
            option=orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS,
        )
    except orjson.JSONEncodeError:
        encoded = json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()


class _StdlibFloat(float):
    """A parsed JSON number with a fraction or exponent (or NaN, Infinity)."""


def _stdlib_float_text(value: object) -> orjson.Fragment:
    if type(value) is not _StdlibFloat:
        raise TypeError(f"not part of a parsed request body: {type(value).__name__}")
    # json.dumps's own float rule: repr for finite values, JavaScript names otherwise.
    if value != value:
        return orjson.Fragment(b"NaN")
    if value in (math.inf, -math.inf):
        return orjson.Fragment(b"Infinity" if value > 0 else b"-Infinity")
    return orjson.Fragment(float.__repr__(value))


def _canonical_body(body: bytes) -> Any:
    if not body:
        return None
    parsed = _parsed_as_stdlib_writes(body)
    if parsed is _UNSURE:
        try:
            parsed = json.loads(body, parse_float=_StdlibFloat, parse_constant=_StdlibFloat)
        except ValueError:
            return body.decode("latin-1")  # not JSON: compared byte for byte
    if isinstance(parsed, dict) and not VOLATILE_BODY_FIELDS.isdisjoint(parsed):
        return {k: v for k, v in parsed.items() if k not in VOLATILE_BODY_FIELDS}
    return parsed  # nothing to drop: written as it was parsed, not copied


_UNSURE: Any = object()


def _parsed_as_stdlib_writes(body: bytes) -> Any:
    """``body`` parsed by orjson (a third of the stdlib's time), or ``_UNSURE``.

    orjson refuses every text the stdlib reads otherwise (NaN, lone surrogates, a BOM, another
    encoding, deep nesting) and reads every number text as the same float, which orjson writes
    as the stdlib does except below 1e-4 and from 1e16 on (where the stdlib writes exponents).
    It reads integers beyond 64 bits as floats, which are that large. A body holding such a
    float is ``_UNSURE``: the stdlib parses it, and its floats are written by its own rule.
    """
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _UNSURE
    kind = type(parsed)
    if kind is not dict and kind is not list:
        return _UNSURE if kind is float and _unsure_float(parsed) else parsed
    # Each container once, its members looked at in place: strings (nearly every member of a
    # chat request) cost one type check and are never put on the list.
    containers = [parsed]
    for container in containers:
        for value in container.values() if type(container) is dict else container:
            kind = type(value)
            if kind is str:
                continue
            if kind is dict or kind is list:
                containers.append(value)
            elif kind is float and _unsure_float(value):
                return _UNSURE
    return parsed


def _unsure_float(value: float) -> bool:
    """Whether orjson may write ``value`` otherwise than the stdlib does."""
    return bool(value) and not _PLAIN_FLOAT_MIN <= abs(value) < _PLAIN_FLOAT_END


# The range where ``float.__repr__`` writes no exponent.
_PLAIN_FLOAT_MIN = 1e-4
_PLAIN_FLOAT_END = 1e16


_KEPT_HEADER_BYTES = frozenset(name.encode("ascii") for name in KEPT_RESPONSE_HEADERS)


def kept_raw_headers(
    raw: Iterable[tuple[bytes, bytes]], encoding: str
) -> tuple[tuple[str, str], ...]:
    """The response headers worth replaying (``KEPT_RESPONSE_HEADERS``, never credentials), with
    lower-cased names, from headers as bytes (httpx's ``Headers.raw``): only the kept ones are
    decoded, with the headers' ``encoding``. The kept names are ASCII and no other byte string
    lowers to one, so this equals decoding every header first and keeping those."""
    kept = []
    for name, value in raw:
        lowered = name.lower()
        if lowered in _KEPT_HEADER_BYTES:
            kept.append((lowered.decode(encoding), value.decode(encoding)))
    return tuple(kept)


def pack(recording: Recording) -> str:
    """The attribute text of ``recording``."""
    document = {
        "v": FORMAT_VERSION,
        "exchanges": [_exchange_json(exchange) for exchange in recording.exchanges],
    }
    # orjson writes the body's characters above 127 as UTF-8 where the stdlib wrote \u00XX
    # escapes: the same JSON document to any reader, smaller and cheaper to write.
    raw = orjson.dumps(document)
    # Packed on the caller's thread for every call: level 1 takes half the time of the default
    # level 6 on a chat response and its output is about 3 % larger (any level unpacks alike).
    # A window no larger than the document finds the same matches as the default 32 KiB one,
    # and setting up the smaller window costs half the time of compressing a chat response.
    # A hash table of as many entries as the window (memory level = window bits - 7; the
    # default 8 is for the 32 KiB window) gives the same output on a chat response, and the
    # compressor then sets up 16 KiB instead of 136 KiB, which the caller's next work finds
    # evicted from the CPU caches. Any window up to 32 KiB, any memory level unpacks alike.
    window_bits = min(max(len(raw).bit_length(), _MIN_WINDOW_BITS), zlib.MAX_WBITS)
    deflate = zlib.compressobj(1, zlib.DEFLATED, window_bits, window_bits - 7)
    packed = deflate.compress(raw) + deflate.flush()
    return binascii.b2a_base64(packed, newline=False).decode("ascii")


def unpack(text: str) -> Recording:
    """Inverse of :func:`pack`.

    Raises:
        RecordingFormatError: the text is damaged or from a newer format.
    """
    try:
        document = json.loads(zlib.decompress(base64.b64decode(text, validate=True)))
    except (binascii.Error, zlib.error, ValueError) as exc:
        raise RecordingFormatError(
            f"recorded response is damaged, as when an attribute value length limit cut it: {exc}"
        ) from exc
    if not isinstance(document, dict) or document.get("v") != FORMAT_VERSION:
        raise RecordingFormatError(
            "recorded response has an unknown format version (recorded by a newer spanflow?)"
        )
    return Recording(tuple(_exchange_from_json(item) for item in document["exchanges"]))


def _exchange_json(exchange: Exchange) -> Mapping[str, Any]:
    item: dict[str, Any] = {}
    if exchange.error_type is not None:
        item["error"] = [exchange.error_type, exchange.error_message]
        return item
    item["status"] = exchange.status
    item["headers"] = exchange.headers  # orjson writes the pairs, tuples, as JSON arrays
    # One body and the chunk sizes: cheaper to pack than a base64 string per chunk.
    chunks = exchange.chunks
    item["body"] = (chunks[0] if len(chunks) == 1 else b"".join(chunks)).decode("latin-1")
    item["sizes"] = [len(chunk) for chunk in chunks]
    if not exchange.complete:
        item["complete"] = False
    if exchange.redacted:
        item["redacted"] = True
    return item


def _exchange_from_json(item: Mapping[str, Any]) -> Exchange:
    error = item.get("error")
    if error is not None:
        return Exchange(error_type=str(error[0]), error_message=str(error[1]))
    body = str(item["body"]).encode("latin-1")
    # Recordings from before the flag existed: a redaction marker in the body means the same.
    redacted = item.get("redacted", REDACTION_MARKER in body)
    return Exchange(
        status=int(item["status"]),
        headers=tuple((str(name), str(value)) for name, value in item["headers"]),
        chunks=_split(body, [int(size) for size in item["sizes"]]),
        complete=bool(item.get("complete", True)),
        redacted=bool(redacted),
    )


def _split(body: bytes, sizes: list[int]) -> tuple[bytes, ...]:
    chunks: list[bytes] = []
    position = 0
    for size in sizes:
        chunks.append(body[position : position + size])
        position += size
    if position != len(body):
        raise RecordingFormatError("recorded response is damaged: chunk sizes do not add up")
    return tuple(chunks)
