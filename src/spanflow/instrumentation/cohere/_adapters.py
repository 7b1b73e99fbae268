"""Cohere's v2 API (``chat``, ``chat_stream``, ``embed``) as neutral descriptions.

Requests are the keyword arguments of ``ClientV2.chat`` & co. (the v2 request body in Python
names); responses are the SDK's models, or dicts reassembled from the typed stream events
(``message-start``, ``content-delta``, ``tool-call-start``/``-delta``, ``message-end``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from spanflow import attributes as attr
from spanflow.instrumentation import _description as d
from spanflow.instrumentation._description import CallRequest, CallResponse, Message, Part
from spanflow.instrumentation._facts import Attributes, field_of
from spanflow.instrumentation.openai._common import request_parameters, tool_definitions
from spanflow.instrumentation.openai._embeddings import dimension_count, embedded_texts

PROVIDER = "cohere"
_PARAMETERS = {
    "temperature": attr.GEN_AI_REQUEST_TEMPERATURE,
    "p": attr.GEN_AI_REQUEST_TOP_P,
    "k": attr.GEN_AI_REQUEST_TOP_K,
    "max_tokens": attr.GEN_AI_REQUEST_MAX_TOKENS,
    "seed": attr.GEN_AI_REQUEST_SEED,
    "frequency_penalty": attr.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": attr.GEN_AI_REQUEST_PRESENCE_PENALTY,
}


def _text_parts(content: Any, path: str) -> list[Part]:
    if isinstance(content, str):
        return [d.text(content, path)]
    parts: list[Part] = []
    for j, item in enumerate(content if isinstance(content, list) else ()):
        kind = field_of(item, "type")
        if kind == "text":
            parts.append(d.text(field_of(item, "text"), f"{path}[{j}].text"))
        elif kind == "thinking":
            parts.append(d.Part(d.REASONING, field_of(item, "thinking")))
        elif isinstance(kind, str):
            parts.append(d.other(kind))
    return parts


def _tool_calls(calls: Any, path: str) -> list[Part]:
    return [
        d.tool_call(
            field_of(call, "id"),
            field_of(field_of(call, "function"), "name"),
            field_of(field_of(call, "function"), "arguments"),
            f"{path}.tool_calls[{j}].function.arguments",
        )
        for j, call in enumerate(calls or ())
    ]


def _tool_result(content: Any) -> Any:
    """A tool message's content as text(s): documents become their data."""
    if not isinstance(content, list):
        return content
    texts: list[Any] = []
    for item in content:
        if field_of(item, "type") == "document":
            data = field_of(field_of(item, "document"), "data")
            texts.append(data if isinstance(data, str) else json.dumps(data, default=str))
        else:
            texts.append(field_of(item, "text"))
    return texts


def _message(item: Any, i: int) -> Message:
    role = field_of(item, "role")
    path = f"messages[{i}]"
    content = field_of(item, "content")
    if role == "tool":
        result = d.tool_result(
            field_of(item, "tool_call_id"), _tool_result(content), f"{path}.content"
        )
        return Message(role, (result,))
    parts = _text_parts(content, f"{path}.content")
    plan = field_of(item, "tool_plan")
    if isinstance(plan, str) and plan:
        parts.insert(0, d.Part(d.REASONING, plan))
    parts.extend(_tool_calls(field_of(item, "tool_calls"), path))
    return Message(role, tuple(parts))


def _usage(usage: Any) -> d.TokenUsage | None:
    counted = field_of(usage, "tokens") or field_of(usage, "billed_units")
    if counted is None:
        return None
    return d.TokenUsage(
        input_tokens=d.int_or_none(field_of(counted, "input_tokens")),
        output_tokens=d.int_or_none(field_of(counted, "output_tokens")),
    )


class ChatAdapter:
    """``POST /v2/chat`` (``chat`` and ``chat_stream``)."""

    provider = PROVIDER
    operation = "chat"

    def read_request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest:
        found: Attributes = request_parameters(body, _PARAMETERS)
        stop = body.get("stop_sequences")
        if isinstance(stop, list) and stop and all(isinstance(s, str) for s in stop):
            found[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = stop
        if field_of(body.get("response_format"), "type") == "json_object":
            found[attr.GEN_AI_OUTPUT_TYPE] = "json"
        if not with_messages:
            return CallRequest(body.get("model"), found)
        messages = body.get("messages")
        return CallRequest(
            body.get("model"),
            found,
            messages=tuple(
                _message(m, i) for i, m in enumerate(messages if isinstance(messages, list) else ())
            ),
            tool_definitions=tool_definitions(body.get("tools")),
        )

    def read_response(self, response: Any, with_messages: bool) -> CallResponse:
        reason = field_of(response, "finish_reason")
        reason = reason.lower() if isinstance(reason, str) else None
        messages: tuple[Message, ...] = ()
        if with_messages:
            reply = field_of(response, "message")
            parts = _text_parts(field_of(reply, "content") or [], "message.content")
            plan = field_of(reply, "tool_plan")
            if isinstance(plan, str) and plan:
                parts.insert(0, d.Part(d.REASONING, plan))
            parts.extend(_tool_calls(field_of(reply, "tool_calls"), "message"))
            messages = (Message("assistant", tuple(parts), reason),)
        return CallResponse(
            response_id=field_of(response, "id"),
            finish_reasons=(reason,) if reason else (),
            usage=_usage(field_of(response, "usage")),
            messages=messages,
        )

    def new_accumulator(self) -> StreamEventAccumulator:
        return StreamEventAccumulator()


class EmbedAdapter:
    """``POST /v2/embed``."""

    provider = PROVIDER
    operation = "embeddings"

    def read_request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest:
        found: Attributes = {}
        types = body.get("embedding_types")
        if isinstance(types, list) and all(isinstance(t, str) for t in types):
            found[attr.GEN_AI_REQUEST_ENCODING_FORMATS] = types
        dimension = body.get("output_dimension")
        if isinstance(dimension, int):
            found[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = dimension
        texts = embedded_texts(body.get("texts"), "texts") if with_messages else ()
        return CallRequest(body.get("model"), found, inputs_only=texts)

    def read_response(self, response: Any, with_messages: bool) -> CallResponse:
        embeddings = field_of(response, "embeddings")
        vectors = field_of(embeddings, "float_") or field_of(embeddings, "float") or []
        return CallResponse(
            response_id=field_of(response, "id"),
            usage=_usage(field_of(response, "meta")),
            attributes=dimension_count(vectors[0] if vectors else None),
        )

    def new_accumulator(self) -> StreamEventAccumulator:
        return StreamEventAccumulator()  # never used: embed does not stream


class StreamEventAccumulator:
    """Reassembles ``chat_stream`` events into a ``V2ChatResponse``-shaped dict."""

    def __init__(self) -> None:
        self._id: Any = None
        self._texts: dict[int, list[str]] = {}
        self._plan: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}
        self._end: Any = None

    def add(self, event: Any) -> None:
        kind = field_of(event, "type")
        message = field_of(field_of(event, "delta"), "message")
        index = field_of(event, "index") or 0
        if kind == "content-delta":
            text = field_of(field_of(message, "content"), "text")
            if isinstance(text, str):
                self._texts.setdefault(index, []).append(text)
        elif kind == "tool-call-delta":
            piece = field_of(field_of(field_of(message, "tool_calls"), "function"), "arguments")
            if isinstance(piece, str) and index in self._calls:
                self._calls[index]["arguments"].append(piece)
        elif kind == "tool-call-start":
            call = field_of(message, "tool_calls")
            function = field_of(call, "function")
            arguments = field_of(function, "arguments")
            self._calls[index] = {
                "id": field_of(call, "id"),
                "name": field_of(function, "name"),
                "arguments": [arguments] if isinstance(arguments, str) else [],
            }
        elif kind == "tool-plan-delta":
            plan = field_of(message, "tool_plan")
            if isinstance(plan, str):
                self._plan.append(plan)
        elif kind == "message-start":
            self._id = field_of(event, "id")
        elif kind == "message-end":
            self._end = field_of(event, "delta")

    def response(self) -> dict[str, Any]:
        content = [
            {"type": "text", "text": "".join(pieces)} for _, pieces in sorted(self._texts.items())
        ]
        calls = [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": "".join(call["arguments"])},
            }
            for _, call in sorted(self._calls.items())
        ]
        message = {"role": "assistant", "content": content, "tool_calls": calls}
        if self._plan:
            message["tool_plan"] = "".join(self._plan)
        return {
            "id": self._id,
            "finish_reason": field_of(self._end, "finish_reason"),
            "message": message,
            "usage": field_of(self._end, "usage"),
        }
