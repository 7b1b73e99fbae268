"""Attribute encoding for the index: JSON text, with large strings stored once by content hash.

LLM spans re-send the whole chat history on every call, so ``gen_ai.input.messages`` of call
*n* repeats every message of calls 1..n-1. Storing each value whole would grow the index
quadratically with conversation length. Instead a string of at least ``BLOB_MIN_CHARS``
characters is cut into parts: when it is a JSON array, each element of at least
``ELEMENT_MIN_CHARS`` characters becomes its own blob (so a re-sent message is stored once, however
many calls repeat it); otherwise the whole string is one blob. Everything between blobs (brackets,
separators, small elements) stays inline, sliced from the original text, so reassembly gives back
the exact original string. Blobs are keyed by a 128-bit BLAKE2b digest of their UTF-8 text.

An encoded value is ``{"$parts": [literal | [hash], ...]}`` in the attribute JSON: attribute
values are never mappings (OTLP kvlists arrive as JSON strings), so a dict marks a reference.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from spanflow.query.records import Attributes, AttributeValue
from spanflow.redaction import VOUCHED

BLOB_MIN_CHARS = 1024
ELEMENT_MIN_CHARS = 256
PARTS_KEY = "$parts"

_decoder = json.JSONDecoder()
# json.dumps builds a new encoder for every call with non-default options; reuse two instead.
_compact_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_canonical_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
_WHITESPACE = " \t\n\r"
# Where ``repr(float)`` (the stdlib encoder's text) is plain positional notation, orjson writes
# the same digits; outside (1e-05, 1e+16, NaN, Infinity) their texts differ.
_POSITIONAL_FLOATS = (1e-4, 1e16)


def content_hash(text: str) -> str:
    """The blob key of ``text``: 32 hex chars of BLAKE2b-128 over its UTF-8 bytes."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


# The embedded index gets the SDK's encoded messages as the same string objects call after call
# (a re-sent history): their digests are remembered by identity. Each entry holds its text, so
# an id cannot be reused while the entry lives.
_PIECE_DIGESTS: dict[int, tuple[str, str]] = {}
_MAX_PIECE_DIGESTS = 4096


def _piece_hash(piece: str) -> str:
    known = _PIECE_DIGESTS.get(id(piece))
    if known is not None and known[0] is piece:
        return known[1]
    digest = content_hash(piece)
    if len(_PIECE_DIGESTS) >= _MAX_PIECE_DIGESTS:
        _PIECE_DIGESTS.clear()
    _PIECE_DIGESTS[id(piece)] = (piece, digest)
    return digest


class AttributeEncoder:
    """Encodes attribute maps to JSON text, collecting the blobs they reference.

    One encoder serves one write batch: ``blobs`` accumulates ``hash -> text`` for every blob any
    encoded value referenced, ready for one batched insert.
    """

    def __init__(self) -> None:
        self.blobs: dict[str, str] = {}
        self.referenced: set[str] = set()
        """Hashes referenced since the caller last cleared this set (one span's worth)."""

    def encode(self, attributes: Attributes) -> Mapping[str, Any]:
        """JSON-ready view of ``attributes`` with large strings replaced by blob references.

        Tuples stay tuples (the JSON encoder writes them as arrays); the common case — no
        large string — returns the attributes themselves without copying.
        """
        large = [
            key
            for key, value in attributes.items()
            if value.__class__ is str and len(value) >= BLOB_MIN_CHARS
        ]
        if not large and isinstance(attributes, dict):
            return attributes
        encoded: dict[str, Any] = dict(attributes)
        for key in large:
            encoded[key] = {PARTS_KEY: self._split(encoded[key])}
        return encoded

    def encode_json(self, attributes: Attributes) -> str:
        """``dumps(self.encode(attributes))``: the same text, faster for common attributes.

        The message JSON of LLM spans makes the escaping of strings the cost of a span's row;
        orjson does it several times faster than the stdlib encoder. It is used only where its
        text is the stdlib's, character for character: values of the plain types (no
        subclasses) and floats that ``repr`` writes without an exponent.
        """
        same_text, has_large = _orjson_check(attributes)
        if not same_text:
            return dumps(self.encode(attributes))
        encoded = self.encode(attributes) if has_large else attributes
        try:
            return orjson.dumps(encoded).decode()
        except orjson.JSONEncodeError:  # lone surrogates, integers beyond 64 bits
            return dumps(encoded)

    def _blob(self, text: str, digest: str | None = None) -> list[str]:
        digest = digest or content_hash(text)
        self.blobs[digest] = text
        self.referenced.add(digest)
        return [digest]

    def _split(self, text: str) -> list[Any]:
        """Parts of ``text``: inline literals and ``[hash]`` blob references."""
        pieces = VOUCHED.pieces_of(text)  # the SDK's own message JSON: no need to parse it
        elements = _piece_spans(pieces) if pieces is not None else None
        if elements is None:
            pieces = None
            elements = _array_element_spans(text)
        if elements is None:
            return [self._blob(text)]
        parts: list[Any] = []
        position = 0
        for number, (start, end) in enumerate(elements):
            if end - start < ELEMENT_MIN_CHARS:
                continue
            if start > position:
                parts.append(text[position:start])
            if pieces is None:
                parts.append(self._blob(text[start:end]))
            else:
                piece = pieces[number]
                parts.append(self._blob(piece, _piece_hash(piece)))
            position = end
        if not parts:
            return [self._blob(text)]
        if position < len(text):
            parts.append(text[position:])
        return parts


def _array_element_spans(text: str) -> list[tuple[int, int]] | None:
    """(start, end) offsets of each top-level element when ``text`` is a JSON array, else None."""
    index = _skip_whitespace(text, 0)
    if index >= len(text) or text[index] != "[":
        return None
    spans: list[tuple[int, int]] = []
    index = _skip_whitespace(text, index + 1)
    try:
        while index < len(text) and text[index] != "]":
            _, end = _decoder.raw_decode(text, index)
            spans.append((index, end))
            index = _skip_whitespace(text, end)
            if index < len(text) and text[index] == ",":
                index = _skip_whitespace(text, index + 1)
            elif index < len(text) and text[index] != "]":
                return None
    except ValueError:
        return None
    if index >= len(text) or _skip_whitespace(text, index + 1) != len(text):
        return None
    return spans


def _piece_spans(pieces: tuple[str, ...]) -> list[tuple[int, int]] | None:
    """(start, end) offsets of ``pieces`` in ``"[" + ",".join(pieces) + "]"``.

    None when a piece has whitespace around it: the parser would not count it in the element.
    """
    spans: list[tuple[int, int]] = []
    start = 1
    for piece in pieces:
        if not piece or piece[0] in _WHITESPACE or piece[-1] in _WHITESPACE:
            return None
        end = start + len(piece)
        spans.append((start, end))
        start = end + 1
    return spans


def _skip_whitespace(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _orjson_check(attributes: Attributes) -> tuple[bool, bool]:
    """Whether orjson writes ``attributes`` as the stdlib encoder does (see ``encode_json``),
    and whether any value is a string large enough for a blob (one pass over the values)."""
    if attributes.__class__ is not dict:
        return False, False
    low, high = _POSITIONAL_FLOATS
    has_large = False
    for value in attributes.values():
        kind = value.__class__
        if kind is str:
            if len(value) >= BLOB_MIN_CHARS:
                has_large = True
        elif kind is int or kind is bool:
            continue
        elif kind is float:
            if not (low <= abs(value) < high or value == 0):
                return False, False
        elif kind is tuple:
            for item in value:
                item_kind = item.__class__
                if item_kind is float:
                    if not (low <= abs(item) < high or item == 0):
                        return False, False
                elif item_kind is not str and item_kind is not int and item_kind is not bool:
                    return False, False
        else:
            return False, False
    return True, has_large


def dumps(value: Any) -> str:
    """Compact JSON text as stored in the index."""
    return _compact_encoder.encode(value)


def collect_blob_hashes(encoded: Mapping[str, Any], into: set[str]) -> None:
    """Add every blob hash the encoded attribute map references to ``into``."""
    for value in encoded.values():
        if isinstance(value, dict):
            into.update(part[0] for part in value[PARTS_KEY] if isinstance(part, list))


def decode_attributes(
    encoded: Mapping[str, Any], blobs: Mapping[str, str]
) -> dict[str, AttributeValue]:
    """The attribute map ``AttributeEncoder.encode`` produced ``encoded`` from."""
    decoded: dict[str, AttributeValue] = {}
    for key, value in encoded.items():
        if isinstance(value, dict):
            decoded[key] = "".join(
                blobs[part[0]] if isinstance(part, list) else part for part in value[PARTS_KEY]
            )
        elif isinstance(value, list):
            decoded[key] = tuple(value)
        else:
            decoded[key] = value
    return decoded


def plain_json(attributes: Mapping[str, Any]) -> str:
    """Canonical compact JSON of a small map (run params, links, resources), tuples as lists."""
    if not attributes:
        return "{}"
    return _canonical_encoder.encode(
        {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in attributes.items()
        }
    )


def plain_attributes(text: str | None) -> dict[str, AttributeValue]:
    """Inverse of ``plain_json``."""
    if not text:
        return {}
    return {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in json.loads(text).items()
    }


def unique_in_order(values: Iterable[str]) -> tuple[str, ...]:
    """``values`` without repeats, first occurrence kept."""
    return tuple(dict.fromkeys(values))
