"""Anthropic Messages API wire format: message bodies and the named-event stream."""

from __future__ import annotations

import json
from typing import Any

from spanflow.testing.fake_llm._replies import Reply
from spanflow.testing.fake_llm._request import FakeRequest
from spanflow.testing.fake_llm._wire import (
    IdSource,
    SseEvent,
    argument_chunks,
    text_chunks,
    token_counts,
)

# OpenAI chat finish reasons (how replies are written) to Anthropic stop reasons.
_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}


def _stop_reason(reply: Reply) -> str:
    if reply.finish_reason:
        return _STOP_REASONS.get(reply.finish_reason, reply.finish_reason)
    return "tool_use" if reply.tool_calls else "end_turn"


def _usage(request: FakeRequest, reply: Reply) -> dict[str, Any]:
    counts = token_counts(request, reply)
    return {
        "input_tokens": counts.input_tokens,
        "output_tokens": counts.output_tokens,
        "cache_creation_input_tokens": counts.cache_creation_input_tokens,
        "cache_read_input_tokens": counts.cached_input_tokens,
        "server_tool_use": None,
        "service_tier": "standard",
    }


def content_blocks(reply: Reply, ids: IdSource) -> list[dict[str, Any]]:
    """The ``content`` of a finished message: a text block, then ``tool_use`` blocks."""
    blocks: list[dict[str, Any]] = []
    if reply.text or not reply.tool_calls:
        blocks.append({"type": "text", "text": reply.text, "citations": None})
    blocks.extend(
        {
            "type": "tool_use",
            "id": call.id or ids.next("toolu"),
            "name": call.name,
            "input": call.arguments_object,
        }
        for call in reply.tool_calls
    )
    return blocks


def message_body(request: FakeRequest, reply: Reply, ids: IdSource) -> dict[str, Any]:
    """A complete ``message`` object for a non-streamed request."""
    return {
        "id": ids.next("msg"),
        "type": "message",
        "role": "assistant",
        "model": reply.model or request.model,
        "content": content_blocks(reply, ids),
        "stop_reason": _stop_reason(reply),
        "stop_sequence": None,
        "usage": _usage(request, reply),
    }


def message_events(request: FakeRequest, reply: Reply, ids: IdSource) -> list[SseEvent]:
    """The stream: ``message_start``, per block start/deltas/stop, ``message_delta``, stop."""
    final = message_body(request, reply, ids)
    events: list[SseEvent] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append(SseEvent.of_json({"type": kind, **fields}, event=kind))

    start_usage = {**final["usage"], "output_tokens": 1}
    emit(
        "message_start",
        message={**final, "content": [], "stop_reason": None, "usage": start_usage},
    )
    for index, block in enumerate(final["content"]):
        if block["type"] == "text":
            emit("content_block_start", index=index, content_block={**block, "text": ""})
            if index == 0:
                emit("ping")
            for piece in text_chunks(block["text"]):
                emit(
                    "content_block_delta", index=index, delta={"type": "text_delta", "text": piece}
                )
        else:
            emit("content_block_start", index=index, content_block={**block, "input": {}})
            for piece in argument_chunks(json.dumps(block["input"])):
                emit(
                    "content_block_delta",
                    index=index,
                    delta={"type": "input_json_delta", "partial_json": piece},
                )
        emit("content_block_stop", index=index)
    emit(
        "message_delta",
        delta={"stop_reason": final["stop_reason"], "stop_sequence": None},
        usage={
            "output_tokens": final["usage"]["output_tokens"],
            "input_tokens": final["usage"]["input_tokens"],
            "cache_creation_input_tokens": final["usage"]["cache_creation_input_tokens"],
            "cache_read_input_tokens": final["usage"]["cache_read_input_tokens"],
        },
    )
    emit("message_stop")
    return events
