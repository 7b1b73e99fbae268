"""Gemini API wire format: ``:generateContent``, ``:streamGenerateContent?alt=sse``, embeddings.

The model is named by the path (``/v1beta/models/{model}:generateContent``, or Vertex AI's
``.../publishers/google/models/{model}:...``); roles are ``user`` and ``model``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from spanflow.testing.fake_llm._defaults import embedding_vector
from spanflow.testing.fake_llm._replies import Reply
from spanflow.testing.fake_llm._request import FakeRequest, Message, content_text
from spanflow.testing.fake_llm._wire import IdSource, SseEvent, text_chunks, token_counts

_FINISH_REASONS = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}
_STATUS_NAMES = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}


def gemini_messages(body: Mapping[str, Any]) -> list[Message]:
    """The conversation of a ``generateContent`` request, system instruction first."""
    messages: list[Message] = []
    system = body.get("systemInstruction")
    if isinstance(system, Mapping):
        messages.append(Message("system", _parts_text(system.get("parts"))))
    for content in body.get("contents") or ():
        if not isinstance(content, Mapping):
            continue
        parts = [p for p in content.get("parts") or () if isinstance(p, Mapping)]
        results = [p["functionResponse"] for p in parts if "functionResponse" in p]
        if results:
            messages.extend(Message("tool", json.dumps(r.get("response"))) for r in results)
            continue
        role = "assistant" if content.get("role") == "model" else str(content.get("role", "user"))
        messages.append(Message(role, _parts_text(parts)))
    return messages


def _parts_text(parts: Any) -> str:
    pieces = []
    for part in parts or ():
        if not isinstance(part, Mapping):
            continue
        if "functionCall" in part:
            call = part["functionCall"]
            pieces.append(f"{call.get('name')}({json.dumps(call.get('args'))})")
        else:
            pieces.append(content_text(part.get("text")))
    return "".join(pieces)


def error_body(status: int, message: str, kind: str) -> dict[str, Any]:
    """A Google API error: ``{"error": {"code", "message", "status"}}``."""
    name = _STATUS_NAMES.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
    return {"error": {"code": status, "message": message, "status": name}}


def _usage(request: FakeRequest, reply: Reply) -> dict[str, Any]:
    counts = token_counts(request, reply)
    usage = {
        "promptTokenCount": counts.input_tokens,
        "candidatesTokenCount": counts.output_tokens,
        "totalTokenCount": counts.total_tokens,
    }
    if counts.cached_input_tokens:
        usage["cachedContentTokenCount"] = counts.cached_input_tokens
    return usage


def _finish_reason(reply: Reply) -> str:
    return _FINISH_REASONS.get(reply.finish_reason or "stop", "STOP")


def _call_parts(reply: Reply) -> list[dict[str, Any]]:
    return [
        {"functionCall": {"name": call.name, "args": call.arguments_object}}
        for call in reply.tool_calls
    ]


def response_body(request: FakeRequest, reply: Reply, ids: IdSource) -> dict[str, Any]:
    """A complete ``GenerateContentResponse``."""
    parts: list[dict[str, Any]] = [{"text": reply.text}] if reply.text else []
    parts += _call_parts(reply)
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts or [{"text": ""}]},
                "finishReason": _finish_reason(reply),
                "index": 0,
            }
        ],
        "usageMetadata": _usage(request, reply),
        "modelVersion": reply.model or request.model,
        "responseId": ids.next("gemini", separator="-"),
    }


def response_events(request: FakeRequest, reply: Reply, ids: IdSource) -> list[SseEvent]:
    """The SSE stream: one chunk per text piece, calls in one chunk, usage on the last."""
    response_id = ids.next("gemini", separator="-")
    model = reply.model or request.model
    chunks: list[dict[str, Any]] = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}]}
        for piece in text_chunks(reply.text)
    ]
    calls = _call_parts(reply)
    if calls:
        chunks.append({"candidates": [{"content": {"role": "model", "parts": calls}, "index": 0}]})
    if not chunks:
        chunks.append({"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}}]})
    chunks[-1]["candidates"][0]["finishReason"] = _finish_reason(reply)
    chunks[-1]["usageMetadata"] = _usage(request, reply)
    return [
        SseEvent.of_json({**chunk, "modelVersion": model, "responseId": response_id})
        for chunk in chunks
    ]


def embeddings_body(request: FakeRequest) -> dict[str, Any]:
    """``batchEmbedContents`` (``embeddings``) or ``embedContent`` (``embedding``) answer."""
    requests = request.body.get("requests")
    if isinstance(requests, list):
        vectors = [_vector(item) for item in requests if isinstance(item, Mapping)]
        return {"embeddings": [{"values": v} for v in vectors]}
    return {"embedding": {"values": _vector(request.body)}}


def _vector(item: Mapping[str, Any]) -> list[float]:
    content = item.get("content")
    text = _parts_text(content.get("parts")) if isinstance(content, Mapping) else ""
    return embedding_vector(text, int(item.get("outputDimensionality") or 8))
