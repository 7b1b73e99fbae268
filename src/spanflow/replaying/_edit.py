"""Synthesising a provider's response with an edited output text (``--edit CALL=TEXT``).

Supported (docs/replay.md): OpenAI chat completions and Anthropic messages, plain and streamed;
OpenAI responses, plain; Mistral chat (OpenAI's shape) and the native APIs of Ollama, Cohere and
Gemini (``_edit_native.py``), plain and streamed. The edited answer is one text message: tool
calls of the recorded answer are dropped and its finish reason becomes a normal stop, so the
program continues as if the model had answered with that text. Everything else (ids, model,
usage) stays as recorded.
"""

from __future__ import annotations

import json
from typing import Any

from spanflow.replaying import _edit_native as native
from spanflow.replaying._exchange import Exchange
from spanflow.replaying._sse import sse, sse_events


class EditNotSupported(ValueError):
    """The recorded call's API or shape has no edited form."""


def edit_exchange(exchange: Exchange, provider: str, operation: str, text: str) -> Exchange:
    """``exchange`` answering ``text`` instead of what the model said.

    Raises:
        EditNotSupported: the call failed, or its API/stream kind cannot be edited.
    """
    if exchange.error_type is not None or exchange.status >= 400:
        raise EditNotSupported("the recorded call failed; only a successful answer can be edited")
    content_type = dict(exchange.headers).get("content-type", "")
    streamed = "text/event-stream" in content_type
    body = exchange.body
    # The Responses API and chat completions share provider and operation names; the body
    # says which one answered.
    if provider == "openai" and streamed and b"chat.completion.chunk" in body:
        new_body = _openai_chat_stream(body, text)
    elif provider == "openai" and not streamed and b'"choices"' in body:
        new_body = _openai_chat(body, text)
    elif provider == "openai" and not streamed and b'"output"' in body:
        new_body = _openai_responses(body, text)
    elif provider == "anthropic" and operation == "chat":
        new_body = _anthropic_stream(body, text) if streamed else _anthropic(body, text)
    elif provider == "mistral_ai" and operation == "chat" and b'"choices"' in body:
        new_body = _openai_chat_stream(body, text) if streamed else _openai_chat(body, text)
    elif provider == "ollama" and operation in ("chat", "text_completion"):
        new_body = native.ollama(body, text, operation=operation)
    elif provider == "cohere" and operation == "chat":
        new_body = native.cohere(body, text, streamed=streamed)
    elif provider in ("gcp.gemini", "gcp.vertex_ai") and operation == "chat":
        new_body = native.gemini(body, text, streamed=streamed)
    else:
        kind = "streamed " if streamed else ""
        raise EditNotSupported(
            f"editing a {kind}{provider} {operation} call is not supported (see docs/replay.md)"
        )
    return Exchange(status=exchange.status, headers=exchange.headers, chunks=(new_body,))


def _openai_chat(body: bytes, text: str) -> bytes:
    document = json.loads(body)
    choice = document["choices"][0]
    message = choice["message"]
    message["content"] = text
    message.pop("tool_calls", None)
    message.pop("function_call", None)
    if choice.get("finish_reason") in ("tool_calls", "function_call"):
        choice["finish_reason"] = "stop"
    document["choices"] = [choice]
    return json.dumps(document).encode()


def _openai_responses(body: bytes, text: str) -> bytes:
    document = json.loads(body)
    first_message: dict[str, Any] = next(
        (item for item in document.get("output", []) if item.get("type") == "message"), {}
    )
    document["output"] = [
        {
            "type": "message",
            "id": first_message.get("id", "msg_edited"),
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
    ]
    return json.dumps(document).encode()


def _anthropic(body: bytes, text: str) -> bytes:
    document = json.loads(body)
    document["content"] = [{"type": "text", "text": text}]
    if document.get("stop_reason") == "tool_use":
        document["stop_reason"] = "end_turn"
    return json.dumps(document).encode()


def _openai_chat_stream(body: bytes, text: str) -> bytes:
    chunks = [json.loads(data) for _, data in sse_events(body) if data != "[DONE]"]
    with_choices = [chunk for chunk in chunks if chunk.get("choices")]
    if not with_choices:
        raise EditNotSupported("the recorded stream has no answer to edit")
    template = {k: v for k, v in with_choices[0].items() if k not in ("choices", "usage")}
    content = {**template, "choices": [_delta(0, {"role": "assistant", "content": text}, None)]}
    finish = {**template, "choices": [_delta(0, {}, "stop")]}
    usage_only = [chunk for chunk in chunks if not chunk.get("choices")]
    events: list[tuple[str | None, Any]] = [(None, content), (None, finish)]
    events += [(None, chunk) for chunk in usage_only]
    events.append((None, "[DONE]"))
    return sse(events)


def _delta(index: int, delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    return {"index": index, "delta": delta, "finish_reason": finish_reason, "logprobs": None}


def _anthropic_stream(body: bytes, text: str) -> bytes:
    events = [(name, json.loads(data)) for name, data in sse_events(body)]
    by_name = {name: data for name, data in events}
    if "message_start" not in by_name:
        raise EditNotSupported("the recorded stream has no message_start event")
    message_delta = by_name.get("message_delta", {"type": "message_delta", "delta": {}})
    if message_delta.get("delta", {}).get("stop_reason") == "tool_use":
        message_delta["delta"]["stop_reason"] = "end_turn"
    block_start = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    block_delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": text},
    }
    out: list[tuple[str | None, Any]] = [
        ("message_start", by_name["message_start"]),
        ("content_block_start", block_start),
        ("content_block_delta", block_delta),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", message_delta),
        ("message_stop", {"type": "message_stop"}),
    ]
    return sse(out)
