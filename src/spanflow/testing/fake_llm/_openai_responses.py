"""OpenAI Responses API wire format: response objects, stream events and the stored responses."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from spanflow.testing.fake_llm._replies import Reply
from spanflow.testing.fake_llm._request import FakeRequest, Message, responses_item_message
from spanflow.testing.fake_llm._wire import (
    IdSource,
    SseEvent,
    argument_chunks,
    text_chunks,
    token_counts,
)


@dataclass(frozen=True)
class StoredResponse:
    """A response the server returned, kept for ``previous_response_id`` and ``GET``."""

    body: dict[str, Any]
    conversation: tuple[Message, ...]  # inputs and outputs up to and including this response


class ResponseStore:
    """Thread-safe memory of the responses this server produced."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._responses: dict[str, StoredResponse] = {}

    def get(self, response_id: str) -> StoredResponse | None:
        """The stored response, or ``None`` when unknown (or deleted)."""
        with self._lock:
            return self._responses.get(response_id)

    def put(self, stored: StoredResponse) -> None:
        """Remember a response under its id."""
        with self._lock:
            self._responses[stored.body["id"]] = stored

    def delete(self, response_id: str) -> bool:
        """Forget a response; whether it existed."""
        with self._lock:
            return self._responses.pop(response_id, None) is not None

    def clear(self) -> None:
        """Forget every response."""
        with self._lock:
            self._responses.clear()


def output_items(reply: Reply, ids: IdSource) -> list[dict[str, Any]]:
    """The ``output`` items of a completed response: a message, then function calls."""
    items: list[dict[str, Any]] = []
    if reply.text or not reply.tool_calls:
        items.append(
            {
                "type": "message",
                "id": ids.next("msg"),
                "status": "completed",
                "role": "assistant",
                "content": [_output_text(reply.text)],
            }
        )
    for call in reply.tool_calls:
        items.append(
            {
                "type": "function_call",
                "id": ids.next("fc"),
                "call_id": call.id or ids.next("call"),
                "name": call.name,
                "arguments": call.arguments_json,
                "status": "completed",
            }
        )
    return items


def _output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def response_body(
    request: FakeRequest, reply: Reply, ids: IdSource, *, output: list[dict[str, Any]]
) -> dict[str, Any]:
    """A completed ``response`` object around ``output``."""
    counts = token_counts(request, reply)
    body = request.body
    incomplete = reply.finish_reason == "length"
    return {
        "id": ids.next("resp"),
        "object": "response",
        "created_at": ids.created(),
        "status": "incomplete" if incomplete else "completed",
        "model": reply.model or request.model,
        "output": output,
        "usage": {
            "input_tokens": counts.input_tokens,
            "input_tokens_details": {"cached_tokens": counts.cached_input_tokens},
            "output_tokens": counts.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": counts.total_tokens,
        },
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": body.get("instructions"),
        "metadata": body.get("metadata") or {},
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "temperature": body.get("temperature", 1.0),
        "top_p": body.get("top_p", 1.0),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "text": body.get("text") or {"format": {"type": "text"}},
        "store": body.get("store", True),
    }


def conversation_after(request: FakeRequest, body: dict[str, Any]) -> tuple[Message, ...]:
    """The request's conversation followed by the response's output items."""
    outputs: Sequence[dict[str, Any]] = body["output"]
    return (*request.messages, *(responses_item_message(item) for item in outputs))


def response_events(completed: dict[str, Any]) -> list[SseEvent]:
    """The stream of a response, from ``response.created`` to ``response.completed``."""
    events: list[SseEvent] = []

    def emit(kind: str, **fields: Any) -> None:
        payload = {"type": kind, "sequence_number": len(events), **fields}
        events.append(SseEvent.of_json(payload, event=kind))

    in_progress = {**completed, "status": "in_progress", "output": [], "usage": None}
    emit("response.created", response=in_progress)
    emit("response.in_progress", response=in_progress)
    for index, item in enumerate(completed["output"]):
        if item["type"] == "message":
            _message_item_events(emit, index, item)
        else:
            _function_call_events(emit, index, item)
    final_kind = (
        "response.completed" if completed["status"] == "completed" else "response.incomplete"
    )
    emit(final_kind, response=completed)
    return events


def _message_item_events(emit: Any, index: int, item: dict[str, Any]) -> None:
    text = item["content"][0]["text"]
    where = {"item_id": item["id"], "output_index": index}
    emit(
        "response.output_item.added",
        output_index=index,
        item={**item, "status": "in_progress", "content": []},
    )
    emit("response.content_part.added", **where, content_index=0, part=_output_text(""))
    for piece in text_chunks(text):
        emit("response.output_text.delta", **where, content_index=0, delta=piece, logprobs=[])
    emit("response.output_text.done", **where, content_index=0, text=text, logprobs=[])
    emit("response.content_part.done", **where, content_index=0, part=_output_text(text))
    emit("response.output_item.done", output_index=index, item=copy.deepcopy(item))


def _function_call_events(emit: Any, index: int, item: dict[str, Any]) -> None:
    where = {"item_id": item["id"], "output_index": index}
    emit(
        "response.output_item.added",
        output_index=index,
        item={**item, "status": "in_progress", "arguments": ""},
    )
    for piece in argument_chunks(item["arguments"]):
        emit("response.function_call_arguments.delta", **where, delta=piece)
    emit(
        "response.function_call_arguments.done",
        **where,
        name=item["name"],
        arguments=item["arguments"],
    )
    emit("response.output_item.done", output_index=index, item=copy.deepcopy(item))
