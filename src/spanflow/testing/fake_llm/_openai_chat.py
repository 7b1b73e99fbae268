"""OpenAI Chat Completions and Embeddings wire format: response bodies and stream chunks."""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping
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

SYSTEM_FINGERPRINT = "fp_fake"


def _finish_reason(reply: Reply) -> str:
    if reply.finish_reason:
        return reply.finish_reason
    return "tool_calls" if reply.tool_calls else "stop"


def _usage(request: FakeRequest, reply: Reply) -> dict[str, Any]:
    counts = token_counts(request, reply)
    return {
        "prompt_tokens": counts.input_tokens,
        "completion_tokens": counts.output_tokens,
        "total_tokens": counts.total_tokens,
        "prompt_tokens_details": {"cached_tokens": counts.cached_input_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _tool_call_ids(reply: Reply, ids: IdSource) -> list[str]:
    return [call.id or ids.next("call") for call in reply.tool_calls]


def chat_completion_body(request: FakeRequest, reply: Reply, ids: IdSource) -> dict[str, Any]:
    """A ``chat.completion`` object for a non-streamed request."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.text if reply.text or not reply.tool_calls else None,
        "refusal": None,
        "annotations": [],
    }
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json},
            }
            for call, call_id in zip(reply.tool_calls, _tool_call_ids(reply, ids), strict=True)
        ]
    return {
        "id": ids.next("chatcmpl", separator="-"),
        "object": "chat.completion",
        "created": ids.created(),
        "model": reply.model or request.model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "service_tier": "default",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _finish_reason(reply),
            }
        ],
        "usage": _usage(request, reply),
    }


def chat_completion_events(request: FakeRequest, reply: Reply, ids: IdSource) -> list[SseEvent]:
    """The ``chat.completion.chunk`` stream, ending with ``data: [DONE]``.

    With ``stream_options.include_usage`` every chunk carries ``usage: null`` and one last chunk
    with empty ``choices`` carries the usage, as the real API does.
    """
    options = request.body.get("stream_options")
    include_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))
    # Mistral's API speaks this format but always sends usage, on the finishing chunk.
    usage_on_finish = request.headers.get("user-agent", "").startswith("mistral-client")
    completion_id = ids.next("chatcmpl", separator="-")
    model = reply.model or request.model

    def chunk(
        delta: dict[str, Any], finish_reason: str | None = None, usage: Any = None
    ) -> SseEvent:
        payload: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": ids.created(),
            "model": model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "service_tier": "default",
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if include_usage or usage is not None:
            payload["usage"] = usage
        return SseEvent.of_json(payload)

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    events.extend(chunk({"content": piece}) for piece in text_chunks(reply.text))
    for index, (call, call_id) in enumerate(
        zip(reply.tool_calls, _tool_call_ids(reply, ids), strict=True)
    ):
        opening = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        events.append(chunk({"tool_calls": [opening]}))
        events.extend(
            chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            for piece in argument_chunks(call.arguments_json)
        )
    finish_usage = _usage(request, reply) if usage_on_finish else None
    events.append(chunk({}, _finish_reason(reply), finish_usage))
    if include_usage:
        events.append(
            SseEvent.of_json(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": ids.created(),
                    "model": model,
                    "system_fingerprint": SYSTEM_FINGERPRINT,
                    "choices": [],
                    "usage": _usage(request, reply),
                }
            )
        )
    events.append(SseEvent(data="[DONE]"))
    return events


def embeddings_body(request: FakeRequest) -> dict[str, Any]:
    """A ``list`` of deterministic embeddings, one per input string (or token list)."""
    raw_input = request.body.get("input", request.body.get("inputs", ""))  # Mistral: inputs
    inputs = raw_input if isinstance(raw_input, list) else [raw_input]
    if inputs and all(isinstance(i, int) for i in inputs):
        inputs = [inputs]  # one tokenised input, not many
    dimensions = int(request.body.get("dimensions") or 8)
    as_base64 = request.body.get("encoding_format") == "base64"
    data = [
        {"object": "embedding", "index": i, "embedding": _encode(vector, as_base64=as_base64)}
        for i, vector in enumerate(embedding_vector(str(text), dimensions) for text in inputs)
    ]
    tokens = sum(len(str(text).split()) or 1 for text in inputs)
    return {
        "id": "embd-fake",  # Mistral's client requires it; OpenAI's ignores it
        "object": "list",
        "data": data,
        "model": request.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _encode(vector: list[float], *, as_base64: bool) -> list[float] | str:
    """Floats as JSON, or little-endian float32 in base64 (what the client asks by default)."""
    if not as_base64:
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
