"""Edited answers for the providers' own APIs: Ollama, Cohere v2 and Gemini, plain and streamed.

Like the OpenAI and Anthropic edits (``_edit.py``), the edited answer is one text message: tool
calls are dropped, a tool-call stop becomes a normal stop, and everything else (ids, model,
token counts) stays as recorded. A stream keeps its framing (NDJSON lines, typed SSE events)
and carries the text in one piece.
"""

from __future__ import annotations

import json
from typing import Any

from spanflow.replaying._sse import sse, sse_events


def ollama(body: bytes, text: str, *, operation: str) -> bytes:
    """An Ollama ``/api/chat`` or ``/api/generate`` answer (JSON, or NDJSON when streamed)."""
    lines = [json.loads(line) for line in body.splitlines() if line.strip()]
    if not lines:
        raise ValueError("the recorded answer is empty")
    final = lines[-1]
    if final.get("done_reason") in ("tool_calls", "tool_call"):
        final["done_reason"] = "stop"
    if len(lines) == 1:  # one JSON document: not streamed
        _ollama_set(final, text, operation)
        return json.dumps(final).encode()
    first = {key: value for key, value in lines[0].items() if key != "thinking"}
    first["done"] = False
    _ollama_set(first, text, operation)
    _ollama_set(final, "", operation)
    return b"".join(json.dumps(line).encode() + b"\n" for line in (first, final))


def _ollama_set(document: dict[str, Any], text: str, operation: str) -> None:
    if operation == "chat":
        document["message"] = {"role": "assistant", "content": text}
    else:
        document["response"] = text
        document.pop("thinking", None)


def cohere(body: bytes, text: str, *, streamed: bool) -> bytes:
    """A Cohere v2 ``/v2/chat`` answer (JSON, or typed SSE events when streamed)."""
    if not streamed:
        document = json.loads(body)
        document["message"] = {"role": "assistant", "content": [{"type": "text", "text": text}]}
        if document.get("finish_reason") == "TOOL_CALL":
            document["finish_reason"] = "COMPLETE"
        return json.dumps(document).encode()
    by_type = {json.loads(data).get("type"): json.loads(data) for _, data in sse_events(body)}
    start = by_type.get("message-start")
    end = by_type.get("message-end")
    if start is None or end is None:
        raise ValueError("the recorded stream has no message-start or message-end event")
    start["delta"] = {"message": {"role": "assistant", "content": [], "tool_plan": ""}}
    if end.get("delta", {}).get("finish_reason") == "TOOL_CALL":
        end["delta"]["finish_reason"] = "COMPLETE"
    events = [
        start,
        {"type": "content-start", "index": 0, "delta": _cohere_text("")},
        {"type": "content-delta", "index": 0, "delta": _cohere_text(text, typed=False)},
        {"type": "content-end", "index": 0},
        end,
    ]
    return sse([(event["type"], event) for event in events])


def _cohere_text(text: str, *, typed: bool = True) -> dict[str, Any]:
    content: dict[str, Any] = {"type": "text", "text": text} if typed else {"text": text}
    return {"message": {"content": content}}


def gemini(body: bytes, text: str, *, streamed: bool) -> bytes:
    """A Gemini ``generateContent`` answer, or ``streamGenerateContent?alt=sse`` chunks."""
    if not streamed:
        return json.dumps(_gemini_set(json.loads(body), text)).encode()
    chunks = [json.loads(data) for _, data in sse_events(body)]
    if not chunks:
        raise ValueError("the recorded stream is empty")
    # The last chunk carries the finish reason and the token counts: it becomes the only one.
    return sse([(None, _gemini_set(chunks[-1], text))])


def _gemini_set(document: dict[str, Any], text: str) -> dict[str, Any]:
    candidates = document.get("candidates") or [{"index": 0}]
    candidate = candidates[0]
    candidate["content"] = {"role": "model", "parts": [{"text": text}]}
    candidate["finishReason"] = "STOP"
    document["candidates"] = [candidate]
    return document
