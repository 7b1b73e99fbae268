"""GenAI semconv JSON values, encoded once per message and bounded.

The conventions' schema: ``[{"role": "user", "parts": [{"type": "text", "content": "..."}]}]``
with part types ``text``, ``tool_call`` (id, name, arguments), ``tool_call_response``
(id, response) and others named by type (built in ``_render.py``). See
https://github.com/open-telemetry/semantic-conventions/blob/main/docs/gen-ai/gen-ai-input-messages.json
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from spanflow import attributes
from spanflow._internal import redact as redaction
from spanflow.instrumentation import content
from spanflow.instrumentation._facts import Attributes
from spanflow.redaction import Redactor


def decode_arguments(arguments: Any) -> Any:
    """Tool call arguments as an object when they are a JSON string, else as they are."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return arguments


def set_json_array(target: Attributes, key: str, items: Iterable[Any]) -> None:
    """Set ``key`` to the JSON array of ``items``, each encoded once, cut at the content bound."""
    redactor = redaction.active_redactor()
    # Redacted item by item: a re-sent history's items are remembered redacted.
    pieces = (redaction.cached_text(content.to_json(item), redactor) for item in items)
    set_json_pieces(target, key, pieces, redacted_by=redactor)


def set_json_pieces(
    target: Attributes, key: str, pieces: Iterable[str], *, redacted_by: Redactor | None
) -> None:
    """Set ``key`` to the JSON array of already encoded, redacted ``pieces``, bounded.

    Pieces are taken until the bound is passed, so a long re-sent history costs no more
    than the bound once it is reached.
    """
    array = BoundedArray()
    for piece in pieces:
        if not array.add(piece):
            break
    array.set_on(target, key, redacted_by=redacted_by)


class BoundedArray:
    """A JSON array being built from encoded, redacted pieces, up to the content bound."""

    __slots__ = ("_length", "_limit", "_taken", "cut")

    def __init__(self) -> None:
        self._limit = content.max_content_chars()
        self._taken: list[str] = []
        self._length = 2
        self.cut = False
        """Whether the bound was passed (no further piece is taken)."""

    def add(self, piece: str) -> bool:
        """Take ``piece``; False once the bound is passed (this piece is the last taken)."""
        self._taken.append(piece)
        self._length += len(piece) + 1
        if self._length > self._limit:
            self.cut = True
            return False
        return True

    def set_on(self, target: Attributes, key: str, *, redacted_by: Redactor | None) -> None:
        """Set ``key`` to the array.

        A cut value ends with the truncation mark and the span gets
        ``spanflow.content.truncated``. An uncut value is vouched for as ``redacted_by``'s
        output (``None``: redaction is off), so the embedded index does not scan it again.
        """
        taken = self._taken
        text, truncated = content.bound_text("[" + ",".join(taken) + "]", redacted=True)
        target[key] = text
        if truncated or self.cut:
            target[attributes.CONTENT_TRUNCATED] = True
        elif redacted_by is not None:
            redacted_by.vouch(text, tuple(taken))


def set_json_value(target: Attributes, key: str, value: Any) -> None:
    """Set ``key`` to the bounded JSON of ``value``."""
    text, truncated = content.bound_json(value)
    target[key] = text
    if truncated:
        target[attributes.CONTENT_TRUNCATED] = True


def as_text(value: Any) -> str:
    """A tool result or argument as the text a later call would see."""
    return value if isinstance(value, str) else content.to_json(value)
