"""Anthropic messages: the neutral description of requests and responses, stream reassembly.

Also the body format of Claude models on Bedrock (``invoke_model``) and Vertex AI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spanflow import attributes as attr
from spanflow.instrumentation import _description as d
from spanflow.instrumentation._description import CallRequest, CallResponse, Message, Part
from spanflow.instrumentation._facts import READERS, Attributes, field_of
from spanflow.instrumentation._message_cache import BoundedMemo, describe_messages
from spanflow.instrumentation.openai._common import request_parameters

_PARAMETERS = {
    "max_tokens": attr.GEN_AI_REQUEST_MAX_TOKENS,
    "temperature": attr.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": attr.GEN_AI_REQUEST_TOP_P,
    "top_k": attr.GEN_AI_REQUEST_TOP_K,
}


_DESCRIBED: BoundedMemo[Message] = BoundedMemo()  # re-sent history: _message_cache.py


class MessagesAdapter:
    """``POST /v1/messages`` (``create``, ``stream=True``, ``stream()``)."""

    provider = "anthropic"
    operation = "chat"

    def read_request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest:
        found: Attributes = request_parameters(body, _PARAMETERS)
        stop = body.get("stop_sequences")
        if isinstance(stop, list) and stop and all(isinstance(s, str) for s in stop):
            found[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = stop
        # Structured outputs (``messages.parse``): ``output_config.format``, or the beta's
        # ``output_format``.
        output_format = field_of(body.get("output_config"), "format") or body.get("output_format")
        if field_of(output_format, "type") == "json_schema":
            found[attr.GEN_AI_OUTPUT_TYPE] = "json"
        if not with_messages:
            return CallRequest(body.get("model"), found)
        messages = body.get("messages")
        system = body.get("system")
        system_path = "system" if isinstance(system, str) else "system[{j}]"
        tools = body.get("tools")
        return CallRequest(
            body.get("model"),
            found,
            system=tuple(content_parts(system, system_path)) if system else (),
            messages=describe_messages(_DESCRIBED, messages, input_message),
            tool_definitions=tools if isinstance(tools, list) else None,
        )

    def read_response(self, response: Any, with_messages: bool) -> CallResponse:
        stop_reason = field_of(response, "stop_reason")
        usage = field_of(response, "usage")
        messages: tuple[Message, ...] = ()
        if with_messages:
            parts = content_parts(field_of(response, "content") or [], "content[{j}]")
            messages = (Message("assistant", tuple(parts), stop_reason),)
        return CallResponse(
            response_id=field_of(response, "id"),
            model=field_of(response, "model"),
            finish_reasons=(stop_reason,) if isinstance(stop_reason, str) else (),
            usage=usage_of(usage) if usage is not None else None,
            messages=messages,
        )

    def new_accumulator(self) -> MessageEventAccumulator:
        return MessageEventAccumulator()


def input_message(item: Any, i: int) -> Message:
    """The ``i``-th request message (``messages[i]``)."""
    content = field_of(item, "content")
    path = f"messages[{i}].content" if isinstance(content, str) else f"messages[{i}].content[{{j}}]"
    return Message(field_of(item, "role"), tuple(content_parts(content, path)))


def usage_of(usage: Any) -> d.TokenUsage:
    """Anthropic ``usage`` in the conventions' terms.

    The conventions count every input token, cached ones included; Anthropic reports the
    uncached, cache-read and cache-write tokens apart, so they are summed here.
    """
    uncached = d.int_or_none(field_of(usage, "input_tokens"))
    read = d.int_or_none(field_of(usage, "cache_read_input_tokens"))
    written = d.int_or_none(field_of(usage, "cache_creation_input_tokens"))
    total = None if uncached is None else uncached + (read or 0) + (written or 0)
    return d.TokenUsage(
        input_tokens=total,
        output_tokens=d.int_or_none(field_of(usage, "output_tokens")),
        cache_read_input_tokens=read,
        cache_write_input_tokens=written,
    )


def content_parts(value: Any, path: str) -> list[Part]:
    """The parts of a content string or block list; ``path`` has ``{j}`` for a block's index."""
    if isinstance(value, str):
        return [d.text(value, path)]
    parts: list[Part] = []
    for j, block in enumerate(value if isinstance(value, list) else ()):
        where = path.format(j=j)
        kind = field_of(block, "type")
        if kind == "text":
            parts.append(d.text(field_of(block, "text"), f"{where}.text"))
        elif kind == "tool_use":
            parts.append(
                d.tool_call(
                    field_of(block, "id"),
                    field_of(block, "name"),
                    field_of(block, "input"),
                    f"{where}.input",
                )
            )
        elif kind == "tool_result":
            result = field_of(block, "content")
            if isinstance(result, list):
                result = [
                    field_of(p, "text")
                    if field_of(p, "type") == "text"
                    else {"type": field_of(p, "type")}
                    for p in result
                ]
            parts.append(d.tool_result(field_of(block, "tool_use_id"), result, f"{where}.content"))
        elif kind == "thinking":
            parts.append(d.Part(d.REASONING, field_of(block, "thinking")))
        elif isinstance(kind, str):
            parts.append(d.other(kind))  # images, documents: the kind, never the payload
    return parts


class MessageEventAccumulator:
    """Reassembles ``message_start`` ... ``message_stop`` events into a ``message``-shaped dict."""

    def __init__(self) -> None:
        self._message: dict[str, Any] = {}
        self._usage: dict[str, Any] = {}
        self._blocks: dict[int, dict[str, Any]] = {}
        self._pieces: dict[int, list[str]] = {}

    def add(self, event: Any) -> None:
        # Runs for every event: fields are read with the reader of each object's type
        # (``getattr`` for the SDK's event models), not through a ``field_of`` call per field.
        read = READERS.get(type(event), field_of)
        kind = read(event, "type", None)
        if kind == "content_block_delta":
            delta = read(event, "delta", None)
            read_delta = READERS.get(type(delta), field_of)
            piece = read_delta(delta, "text", None)
            if piece is None:
                piece = read_delta(delta, "partial_json", None)
            if piece is None:
                piece = read_delta(delta, "thinking", None)
            if isinstance(piece, str):
                index = read(event, "index", None) or 0
                pieces = self._pieces.get(index)
                if pieces is None:
                    pieces = self._pieces[index] = []
                pieces.append(piece)
        elif kind == "message_start":
            started = field_of(event, "message")
            self._message = {"id": field_of(started, "id"), "model": field_of(started, "model")}
            self._merge_usage(field_of(started, "usage"))
        elif kind == "content_block_start":
            block = field_of(event, "content_block")
            self._blocks[field_of(event, "index") or 0] = {
                "type": field_of(block, "type"),
                "id": field_of(block, "id"),
                "name": field_of(block, "name"),
                "text": field_of(block, "text"),
            }
        elif kind == "message_delta":
            self._message["stop_reason"] = field_of(field_of(event, "delta"), "stop_reason")
            self._merge_usage(field_of(event, "usage"))

    def _merge_usage(self, usage: Any) -> None:
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        ):
            value = field_of(usage, name)
            if isinstance(value, int):
                self._usage[name] = value

    def response(self) -> dict[str, Any]:
        blocks = []
        for index in sorted(self._blocks):
            start = self._blocks[index]
            joined = "".join(self._pieces.get(index, ()))
            kind = start["type"]
            if kind == "tool_use":
                blocks.append(
                    {
                        "type": kind,
                        "id": start["id"],
                        "name": start["name"],
                        "input": _json_or_text(joined),
                    }
                )
            elif kind == "thinking":
                blocks.append({"type": kind, "thinking": joined})
            else:
                blocks.append({"type": kind, "text": (start["text"] or "") + joined})
        return {**self._message, "content": blocks, "usage": self._usage}


def _json_or_text(text: str) -> Any:
    import json

    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return text
