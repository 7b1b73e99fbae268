"""The neutral description of one LLM call that every provider adapter produces.

An adapter reads its provider's request and response once into these records; generic code
(``_render.py``) turns them into the GenAI semantic-convention attributes and into the dataflow
records. Each part remembers ``path``, where its text sits in the provider's own body (e.g.
``messages[2].content``), so dataflow links can name the field that quoted an earlier output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.util.types import AttributeValue

TEXT = "text"
TOOL_CALL = "tool_call"
TOOL_RESULT = "tool_call_response"
REASONING = "reasoning"


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a message, in the GenAI conventions' vocabulary.

    ``kind`` is ``text``, ``tool_call``, ``tool_call_response``, ``reasoning`` or another type
    named by the provider (``image``, ``refusal``...). ``content`` is the text (text, reasoning,
    refusal), the arguments (tool call) or the result (tool result; a list of texts is one
    field per text). ``path`` is where the text sits in the body; None keeps it out of dataflow.
    """

    kind: str
    content: Any = None
    call_id: Any = None
    name: Any = None
    path: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """A message: its role and parts; ``finish_reason`` only on output messages."""

    role: Any
    parts: tuple[Part, ...]
    finish_reason: Any = None


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts as the GenAI conventions define them (input counts cached tokens too)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_write_input_tokens: int | None = None


@dataclass(frozen=True)
class CallRequest:
    """A request: model, the provider-specific attributes, and (when asked for) its messages.

    ``inputs_only`` are texts the call reads that are not messages (embedding inputs): they go
    to dataflow, never to ``gen_ai.input.messages``.
    """

    model: Any = None
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    system: tuple[Part, ...] = ()
    messages: tuple[Message, ...] = ()
    tool_definitions: Any = None
    inputs_only: tuple[Part, ...] = ()
    previous_response_id: Any = None
    response_item_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallResponse:
    """A response (or a stream reassembled so far): ids, finish reasons, usage, messages.

    ``usage`` None means the provider reported none (an OpenAI stream without
    ``stream_options.include_usage``, a stream cut short): the span then says the token counts
    are unknown instead of claiming zero.
    """

    response_id: Any = None
    model: Any = None
    finish_reasons: tuple[str, ...] = ()
    usage: TokenUsage | None = None
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    messages: tuple[Message, ...] = ()
    item_ids: tuple[str, ...] = ()


def text(content: Any, path: str | None = None) -> Part:
    """A text part."""
    return Part(TEXT, content, path=path)


def tool_call(call_id: Any, name: Any, arguments: Any, path: str | None = None) -> Part:
    """A tool call part; ``arguments`` as the provider sent them (object or JSON string)."""
    return Part(TOOL_CALL, arguments, call_id=call_id, name=name, path=path)


def tool_result(call_id: Any, result: Any, path: str | None = None) -> Part:
    """A tool result part."""
    return Part(TOOL_RESULT, result, call_id=call_id, path=path)


def other(kind: str, content: Any = None) -> Part:
    """A part recorded by its kind only (images, audio, files: never the payload)."""
    return Part(kind, content)


def int_or_none(value: Any) -> int | None:
    """A token count: ``value`` as an int (Cohere's SDK types counts as floats), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
