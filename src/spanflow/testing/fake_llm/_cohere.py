"""Cohere v2 wire format: ``/v2/chat`` (JSON or typed SSE events) and ``/v2/embed``."""

from __future__ import annotations

from typing import Any

from spanflow.testing.fake_llm._defaults import embedding_vector
from spanflow.testing.fake_llm._replies import Reply
from spanflow.testing.fake_llm._request import FakeRequest
from spanflow.testing.fake_llm._wire import (
    IdSource,
    SseEvent,
    argument_chunks,
    text_chunks,
    token_counts,
)

_FINISH_REASONS = {"stop": "COMPLETE", "length": "MAX_TOKENS", "tool_calls": "TOOL_CALL"}


def error_body(status: int, message: str, kind: str) -> dict[str, Any]:
    """Cohere's error body: ``{"message": ...}``."""
    return {"message": message}


def _finish_reason(reply: Reply) -> str:
    if reply.finish_reason:
        return _FINISH_REASONS.get(reply.finish_reason, reply.finish_reason.upper())
    return "TOOL_CALL" if reply.tool_calls else "COMPLETE"


def _usage(request: FakeRequest, reply: Reply) -> dict[str, Any]:
    counts = token_counts(request, reply)
    tokens = {"input_tokens": counts.input_tokens, "output_tokens": counts.output_tokens}
    return {"billed_units": dict(tokens), "tokens": tokens}


def _calls(reply: Reply, ids: IdSource) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id or ids.next("cohere_call"),
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments_json},
        }
        for call in reply.tool_calls
    ]


def chat_body(request: FakeRequest, reply: Reply, ids: IdSource) -> dict[str, Any]:
    """A complete ``V2ChatResponse``."""
    message: dict[str, Any] = {"role": "assistant"}
    if reply.text or not reply.tool_calls:
        message["content"] = [{"type": "text", "text": reply.text}]
    if reply.tool_calls:
        message["tool_plan"] = "I will call the tools."
        message["tool_calls"] = _calls(reply, ids)
    return {
        "id": ids.next("cohere", separator="-"),
        "finish_reason": _finish_reason(reply),
        "message": message,
        "usage": _usage(request, reply),
    }


def chat_events(request: FakeRequest, reply: Reply, ids: IdSource) -> list[SseEvent]:
    """The typed event stream of ``chat_stream``."""
    final = chat_body(request, reply, ids)
    events: list[SseEvent] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append(SseEvent.of_json({"type": kind, **fields}, event=kind))

    emit(
        "message-start",
        id=final["id"],
        delta={"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": []}},
    )
    if reply.text or not reply.tool_calls:
        emit("content-start", index=0, delta={"message": {"content": {"type": "text", "text": ""}}})
        for piece in text_chunks(reply.text):
            emit("content-delta", index=0, delta={"message": {"content": {"text": piece}}})
        emit("content-end", index=0)
    for index, call in enumerate(final["message"].get("tool_calls", ())):
        start = {**call, "function": {"name": call["function"]["name"], "arguments": ""}}
        emit("tool-call-start", index=index, delta={"message": {"tool_calls": start}})
        for piece in argument_chunks(call["function"]["arguments"]):
            emit(
                "tool-call-delta",
                index=index,
                delta={"message": {"tool_calls": {"function": {"arguments": piece}}}},
            )
        emit("tool-call-end", index=index)
    emit("message-end", delta={"finish_reason": final["finish_reason"], "usage": final["usage"]})
    return events


def embed_body(request: FakeRequest) -> dict[str, Any]:
    """A ``/v2/embed`` answer with float embeddings, one per text."""
    texts = request.body.get("texts") or []
    dimensions = int(request.body.get("output_dimension") or 8)
    tokens = sum(len(str(text).split()) or 1 for text in texts)
    return {
        "id": "embed-fake",
        "response_type": "embeddings_by_type",
        "embeddings": {"float": [embedding_vector(str(text), dimensions) for text in texts]},
        "texts": list(texts),
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}},
    }
