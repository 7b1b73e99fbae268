"""Bedrock's Converse API (``converse``, ``converse_stream``) as neutral descriptions.

Requests are the boto3 call's parameters (``modelId``, ``messages``, ``system``,
``inferenceConfig``, ``toolConfig``); messages hold content blocks keyed by kind (``text``,
``toolUse``, ``toolResult``, ``reasoningContent``, ``image``...). Amazon Nova's ``invoke_model``
body has the same shape (with snake_case sampling keys), so it is read here too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from spanflow import attributes as attr
from spanflow.instrumentation import _description as d
from spanflow.instrumentation._description import CallRequest, CallResponse, Message, Part
from spanflow.instrumentation._facts import Attributes, field_of

PROVIDER = "aws.bedrock"
# Converse's camelCase keys, then Nova's invoke_model spellings of the same parameters.
_PARAMETERS = {
    "maxTokens": attr.GEN_AI_REQUEST_MAX_TOKENS,
    "max_new_tokens": attr.GEN_AI_REQUEST_MAX_TOKENS,
    "temperature": attr.GEN_AI_REQUEST_TEMPERATURE,
    "topP": attr.GEN_AI_REQUEST_TOP_P,
    "top_p": attr.GEN_AI_REQUEST_TOP_P,
    "topK": attr.GEN_AI_REQUEST_TOP_K,
    "top_k": attr.GEN_AI_REQUEST_TOP_K,
}
_MEDIA = ("image", "document", "video", "audio")


def _result_texts(content: Any) -> list[Any]:
    texts: list[Any] = []
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, Mapping):
            continue
        if "text" in block:
            texts.append(block["text"])
        elif "json" in block:
            texts.append(json.dumps(block["json"], default=str))
        else:
            texts.append({"type": next(iter(block), "unknown")})
    return texts


def content_parts(blocks: Any, path: str) -> list[Part]:
    """The parts of a content block list; ``path`` names the list (``messages[0].content``)."""
    parts: list[Part] = []
    for j, block in enumerate(blocks if isinstance(blocks, list) else ()):
        if not isinstance(block, Mapping):
            continue
        where = f"{path}[{j}]"
        if "text" in block:
            parts.append(d.text(block["text"], f"{where}.text"))
        elif "toolUse" in block:
            use = block["toolUse"]
            parts.append(
                d.tool_call(
                    field_of(use, "toolUseId"),
                    field_of(use, "name"),
                    field_of(use, "input"),
                    f"{where}.toolUse.input",
                )
            )
        elif "toolResult" in block:
            result = block["toolResult"]
            parts.append(
                d.tool_result(
                    field_of(result, "toolUseId"),
                    _result_texts(field_of(result, "content")),
                    f"{where}.toolResult.content",
                )
            )
        elif "reasoningContent" in block:
            reasoning = field_of(field_of(block["reasoningContent"], "reasoningText"), "text")
            parts.append(d.Part(d.REASONING, reasoning))
        else:
            kind = next((k for k in block if k in _MEDIA), None) or next(iter(block), None)
            if isinstance(kind, str) and kind != "cachePoint":
                parts.append(d.other(kind))  # media: the kind, never the payload
    return parts


def usage_of(usage: Any) -> d.TokenUsage | None:
    """Bedrock ``usage`` in the conventions' terms (cache reads and writes count as input)."""
    if not isinstance(usage, Mapping):
        return None
    uncached = d.int_or_none(usage.get("inputTokens"))
    read = d.int_or_none(usage.get("cacheReadInputTokens"))
    written = d.int_or_none(usage.get("cacheWriteInputTokens"))
    return d.TokenUsage(
        input_tokens=None if uncached is None else uncached + (read or 0) + (written or 0),
        output_tokens=d.int_or_none(usage.get("outputTokens")),
        cache_read_input_tokens=read,
        cache_write_input_tokens=written,
    )


def request_of(body: Mapping[str, Any], with_messages: bool, model: Any) -> CallRequest:
    """A Converse request (or a Nova ``invoke_model`` body) as a neutral request."""
    config = body.get("inferenceConfig")
    found: Attributes = {}
    if isinstance(config, Mapping):
        for name, key in _PARAMETERS.items():
            value = config.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found[key] = value
        stop = config.get("stopSequences")
        if isinstance(stop, list) and stop and all(isinstance(s, str) for s in stop):
            found[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = stop
    if not with_messages:
        return CallRequest(model, found)
    messages = body.get("messages")
    tools = field_of(body.get("toolConfig"), "tools")
    return CallRequest(
        model,
        found,
        system=tuple(content_parts(body.get("system"), "system")),
        messages=tuple(
            Message(
                field_of(m, "role"),
                tuple(content_parts(field_of(m, "content"), f"messages[{i}].content")),
            )
            for i, m in enumerate(messages if isinstance(messages, list) else ())
        ),
        tool_definitions=(
            [field_of(t, "toolSpec") or t for t in tools] if isinstance(tools, list) else None
        ),
    )


def response_of(response: Any, with_messages: bool) -> CallResponse:
    """A Converse response (or a Nova ``invoke_model`` answer) as a neutral response."""
    stop_reason = field_of(response, "stopReason")
    messages: tuple[Message, ...] = ()
    if with_messages:
        reply = field_of(field_of(response, "output"), "message")
        parts = content_parts(field_of(reply, "content"), "output.message.content")
        messages = (Message(field_of(reply, "role") or "assistant", tuple(parts), stop_reason),)
    return CallResponse(
        finish_reasons=(stop_reason,) if isinstance(stop_reason, str) else (),
        usage=usage_of(field_of(response, "usage")),
        messages=messages,
    )


class ConverseAdapter:
    """``converse`` and ``converse_stream``: the boto3 call's parameters are the request."""

    provider = PROVIDER
    operation = "chat"

    def read_request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest:
        return request_of(body, with_messages, body.get("modelId"))

    def read_response(self, response: Any, with_messages: bool) -> CallResponse:
        return response_of(response, with_messages)

    def new_accumulator(self) -> ConverseStreamAccumulator:
        return ConverseStreamAccumulator()


class ConverseStreamAccumulator:
    """Reassembles ConverseStream events (``{"contentBlockDelta": {...}}``...) into a response.

    Amazon Nova's ``invoke_model_with_response_stream`` chunks are the same events.
    """

    def __init__(self) -> None:
        self._role: Any = "assistant"
        self._texts: dict[int, list[str]] = {}
        self._tools: dict[int, dict[str, Any]] = {}
        self._inputs: dict[int, list[str]] = {}
        self._stop_reason: Any = None
        self._usage: Any = None

    def add(self, event: Any) -> None:
        delta = event.get("contentBlockDelta")
        if delta is not None:
            index = delta.get("contentBlockIndex") or 0
            piece = delta.get("delta") or {}
            if "text" in piece:
                self._texts.setdefault(index, []).append(piece["text"])
            elif "toolUse" in piece:
                self._inputs.setdefault(index, []).append(piece["toolUse"].get("input") or "")
            return
        start = event.get("contentBlockStart")
        if start is not None:
            use = field_of(start.get("start"), "toolUse")
            if use is not None:
                self._tools[start.get("contentBlockIndex") or 0] = dict(use)
        elif "messageStart" in event:
            self._role = field_of(event["messageStart"], "role") or "assistant"
        elif "messageStop" in event:
            self._stop_reason = field_of(event["messageStop"], "stopReason")
        elif "metadata" in event:
            self._usage = field_of(event["metadata"], "usage")

    def response(self) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        for index in sorted({*self._texts, *self._tools}):
            if index in self._tools:
                tool = self._tools[index]
                arguments = "".join(self._inputs.get(index, ()))
                content.append(
                    {
                        "toolUse": {
                            "toolUseId": tool.get("toolUseId"),
                            "name": tool.get("name"),
                            "input": _json_or_text(arguments),
                        }
                    }
                )
            else:
                content.append({"text": "".join(self._texts[index])})
        return {
            "output": {"message": {"role": self._role, "content": content}},
            "stopReason": self._stop_reason,
            "usage": self._usage,
        }


def _json_or_text(text: str) -> Any:
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return text
