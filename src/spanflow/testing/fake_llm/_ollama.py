"""Ollama's native API wire format: ``/api/chat``, ``/api/generate`` and ``/api/embed``.

Streams are NDJSON: one JSON object per line, the last with ``done: true``, the stop reason
and the token counts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spanflow.testing.fake_llm._defaults import embedding_vector
from spanflow.testing.fake_llm._replies import Reply
from spanflow.testing.fake_llm._request import FakeRequest, Message, chat_messages, content_text
from spanflow.testing.fake_llm._wire import text_chunks, token_counts

CREATED_AT = "2023-11-14T22:13:20Z"


@dataclass(frozen=True)
class NdjsonLine:
    """One line of an NDJSON stream."""

    payload: Mapping[str, Any]

    def encode(self) -> bytes:
        """The line as it goes on the wire."""
        return json.dumps(self.payload, separators=(",", ":")).encode() + b"\n"


def generate_messages(body: Mapping[str, Any]) -> list[Message]:
    """Conversation of a ``/api/generate`` request: the system prompt, then the prompt."""
    messages = []
    if body.get("system"):
        messages.append(Message("system", content_text(body.get("system"))))
    messages.append(Message("user", content_text(body.get("prompt"))))
    return messages


def ollama_chat_messages(body: Mapping[str, Any]) -> list[Message]:
    """Conversation of a ``/api/chat`` request."""
    return chat_messages(body)


def _stop_reason(reply: Reply) -> str:
    if reply.finish_reason == "length":
        return "length"
    return "stop"


def _final_fields(request: FakeRequest, reply: Reply) -> dict[str, Any]:
    counts = token_counts(request, reply)
    return {
        "done": True,
        "done_reason": _stop_reason(reply),
        "total_duration": 1_000_000,
        "load_duration": 1000,
        "prompt_eval_count": counts.input_tokens,
        "prompt_eval_duration": 1000,
        "eval_count": counts.output_tokens,
        "eval_duration": 1000,
    }


def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {"function": {"index": i, "name": call.name, "arguments": call.arguments_object}}
        for i, call in enumerate(reply.tool_calls)
    ]


def chat_body(request: FakeRequest, reply: Reply) -> dict[str, Any]:
    """A complete ``/api/chat`` answer."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls(reply)
    return {
        "model": reply.model or request.model,
        "created_at": CREATED_AT,
        "message": message,
        **_final_fields(request, reply),
    }


def chat_lines(request: FakeRequest, reply: Reply) -> list[NdjsonLine]:
    """A streamed ``/api/chat`` answer: text pieces, tool calls in one line, the final line."""
    model = reply.model or request.model
    lines = [
        NdjsonLine(
            {
                "model": model,
                "created_at": CREATED_AT,
                "message": {"role": "assistant", "content": piece},
                "done": False,
            }
        )
        for piece in text_chunks(reply.text)
    ]
    if reply.tool_calls:
        message = {"role": "assistant", "content": "", "tool_calls": _tool_calls(reply)}
        lines.append(
            NdjsonLine(
                {"model": model, "created_at": CREATED_AT, "message": message, "done": False}
            )
        )
    final = {"role": "assistant", "content": ""}
    lines.append(
        NdjsonLine(
            {
                "model": model,
                "created_at": CREATED_AT,
                "message": final,
                **_final_fields(request, reply),
            }
        )
    )
    return lines


def generate_body(request: FakeRequest, reply: Reply) -> dict[str, Any]:
    """A complete ``/api/generate`` answer."""
    return {
        "model": reply.model or request.model,
        "created_at": CREATED_AT,
        "response": reply.text,
        **_final_fields(request, reply),
    }


def generate_lines(request: FakeRequest, reply: Reply) -> list[NdjsonLine]:
    """A streamed ``/api/generate`` answer."""
    model = reply.model or request.model
    lines = [
        NdjsonLine({"model": model, "created_at": CREATED_AT, "response": piece, "done": False})
        for piece in text_chunks(reply.text)
    ]
    lines.append(
        NdjsonLine(
            {
                "model": model,
                "created_at": CREATED_AT,
                "response": "",
                **_final_fields(request, reply),
            }
        )
    )
    return lines


def embed_body(request: FakeRequest) -> dict[str, Any]:
    """A ``/api/embed`` answer: one deterministic vector per input."""
    raw_input = request.body.get("input", "")
    inputs = raw_input if isinstance(raw_input, list) else [raw_input]
    dimensions = int(request.body.get("dimensions") or 8)
    return {
        "model": request.model,
        "embeddings": [embedding_vector(str(text), dimensions) for text in inputs],
        "total_duration": 1000,
        "load_duration": 10,
        "prompt_eval_count": sum(len(str(text).split()) or 1 for text in inputs),
    }
