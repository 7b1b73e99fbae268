"""GenAI semconv message JSON (role + parts), encoded once per message and bounded.

The conventions' schema: ``[{"role": "user", "parts": [{"type": "text", "content": "..."}]}]``
with part types ``text``, ``tool_call`` (id, name, arguments), ``tool_call_response``
(id, response) and others named by type. See
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

Part = dict[str, Any]


def text_part(text: str) -> Part:
    """A ``text`` part."""
    return {"type": "text", "content": text}


def tool_call_part(call_id: Any, name: Any, arguments: Any) -> Part:
    """A ``tool_call`` part; JSON-string arguments are decoded so they read as an object."""
    return {
        "type": "tool_call",
        "id": call_id,
        "name": name,
        "arguments": decode_arguments(arguments),
    }


def tool_response_part(call_id: Any, response: Any) -> Part:
    """A ``tool_call_response`` part."""
    return {"type": "tool_call_response", "id": call_id, "response": response}


def message(role: Any, parts: list[Part], finish_reason: Any = None) -> dict[str, Any]:
    """A message in the conventions' shape; ``finish_reason`` only on output messages."""
    built: dict[str, Any] = {"role": role, "parts": parts}
    if finish_reason is not None:
        built["finish_reason"] = finish_reason
    return built


def decode_arguments(arguments: Any) -> Any:
    """Tool call arguments as an object when they are a JSON string, else as they are."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return arguments


def set_json_array(target: Attributes, key: str, items: Iterable[Any]) -> None:
    """Set ``key`` to the JSON array of ``items``, each encoded once, cut at the content bound.

    Encoding stops as soon as the bound is passed, so a long re-sent history costs no more
    than the bound once it is reached; a cut value ends with the truncation mark and the span
    gets ``spanflow.content.truncated``.
    """
    limit = content.max_content_chars()
    pieces: list[str] = []
    length = 2
    cut = False
    redactor = redaction.active_redactor()
    for item in items:
        # Redacted message by message: a re-sent history's messages are remembered redacted.
        encoded = redaction.cached_text(content.to_json(item), redactor)
        pieces.append(encoded)
        length += len(encoded) + 1
        if length > limit:
            cut = True
            break
    text, truncated = content.bound_text("[" + ",".join(pieces) + "]", redacted=True)
    target[key] = text
    if truncated or cut:
        target[attributes.CONTENT_TRUNCATED] = True


def set_json_value(target: Attributes, key: str, value: Any) -> None:
    """Set ``key`` to the bounded JSON of ``value``."""
    text, truncated = content.bound_json(value)
    target[key] = text
    if truncated:
        target[attributes.CONTENT_TRUNCATED] = True


def as_text(value: Any) -> str:
    """A tool result or argument as the text a later call would see."""
    return value if isinstance(value, str) else content.to_json(value)
