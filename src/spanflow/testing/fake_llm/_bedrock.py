"""Amazon Bedrock Runtime wire format: Converse, ConverseStream, InvokeModel and its stream.

``POST /model/{modelId}/converse`` answers JSON and ``/converse-stream`` AWS event-stream
frames (``messageStart`` ... ``metadata``). ``/invoke`` and ``/invoke-with-response-stream``
carry the model family's own body: Anthropic Messages (``anthropic.claude-*``), Amazon Nova
(``amazon.nova-*``, Converse-shaped) or Meta Llama (``meta.llama*``, ``prompt`` /
``generation``); a stream wraps each of the family's chunks, base64-encoded, in a ``chunk``
frame. Errors are ``{"message": ...}`` with the exception name in ``x-amzn-ErrorType``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from spanflow.testing.fake_llm import _anthropic
from spanflow.testing.fake_llm._eventstream import CONTENT_TYPE, EventFrame
from spanflow.testing.fake_llm._http import Answer, JsonAnswer, StreamAnswer
from spanflow.testing.fake_llm._replies import Reply
from spanflow.testing.fake_llm._request import (
    FakeRequest,
    Message,
    anthropic_messages,
    content_text,
)
from spanflow.testing.fake_llm._wire import IdSource, argument_chunks, text_chunks, token_counts

_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "content_filtered",
}
_ERROR_TYPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    503: "ServiceUnavailableException",
}


def model_id(path_model: str) -> str:
    """The model id as the client sent it (the path segment is percent-encoded)."""
    return unquote(path_model)


def model_family(model: str) -> str:
    """``anthropic``, ``amazon``, ``meta``...: the vendor part of a model or profile id.

    Inference profiles put a region first (``us.anthropic.claude-...``); ARNs end in the id.
    """
    parts = model.rsplit("/", 1)[-1].split(".")
    if len(parts) > 2 and parts[1] in ("anthropic", "amazon", "meta", "mistral", "cohere"):
        return parts[1]
    return parts[0]


def error_body(status: int, message: str, kind: str) -> dict[str, Any]:
    """Bedrock's error body: ``{"message": ...}``."""
    return {"message": message}


def error_headers(status: int) -> dict[str, str]:
    """The exception name botocore reads from ``x-amzn-ErrorType``."""
    kind = _ERROR_TYPES.get(status, "InternalServerException" if status >= 500 else "")
    return {"x-amzn-ErrorType": kind or "ValidationException"}


# Requests ------------------------------------------------------------------------------------


def _block_text(block: Any) -> str:
    if not isinstance(block, Mapping):
        return ""
    if "toolUse" in block:
        use = block["toolUse"]
        return f"{use.get('name')}({json.dumps(use.get('input'))})"
    if "toolResult" in block:
        result = block["toolResult"].get("content") or ()
        return "".join(
            json.dumps(part["json"])
            if isinstance(part, Mapping) and "json" in part
            else content_text(part)
            for part in result
        )
    return content_text(block.get("text"))


def converse_messages(body: Mapping[str, Any]) -> list[Message]:
    """The conversation of a Converse (or Nova ``invoke``) request, system first."""
    messages: list[Message] = []
    system = body.get("system")
    if isinstance(system, list) and system:
        messages.append(Message("system", "".join(map(_block_text, system))))
    for entry in body.get("messages") or ():
        if not isinstance(entry, Mapping):
            continue
        blocks = [b for b in entry.get("content") or () if isinstance(b, Mapping)]
        results = [b for b in blocks if "toolResult" in b]
        messages.extend(Message("tool", _block_text(b)) for b in results)
        others = [b for b in blocks if "toolResult" not in b]
        if others or not results:
            role = str(entry.get("role", "user"))
            messages.append(Message(role, "".join(map(_block_text, others))))
    return messages


def invoke_messages(body: Mapping[str, Any]) -> list[Message]:
    """The conversation of an ``invoke`` body, whichever family's shape it has."""
    if "anthropic_version" in body:
        return anthropic_messages(body)
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return [Message("user", prompt)]
    return converse_messages(body)


# Converse ------------------------------------------------------------------------------------


def _stop_reason(reply: Reply) -> str:
    if reply.finish_reason:
        return _STOP_REASONS.get(reply.finish_reason, reply.finish_reason)
    return "tool_use" if reply.tool_calls else "end_turn"


def _usage(request: FakeRequest, reply: Reply) -> dict[str, Any]:
    counts = token_counts(request, reply)
    usage = {
        "inputTokens": counts.input_tokens,
        "outputTokens": counts.output_tokens,
        "totalTokens": counts.total_tokens,
    }
    if counts.cached_input_tokens or counts.cache_creation_input_tokens:
        usage["cacheReadInputTokens"] = counts.cached_input_tokens
        usage["cacheWriteInputTokens"] = counts.cache_creation_input_tokens
        usage["totalTokens"] += counts.cached_input_tokens + counts.cache_creation_input_tokens
    return usage


def converse_body(request: FakeRequest, reply: Reply, ids: IdSource) -> dict[str, Any]:
    """A complete ``ConverseResponse`` (also Nova's ``invoke`` answer)."""
    content: list[dict[str, Any]] = []
    if reply.text or not reply.tool_calls:
        content.append({"text": reply.text})
    content.extend(
        {
            "toolUse": {
                "toolUseId": call.id or ids.next("tooluse"),
                "name": call.name,
                "input": call.arguments_object,
            }
        }
        for call in reply.tool_calls
    )
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": _stop_reason(reply),
        "usage": _usage(request, reply),
        "metrics": {"latencyMs": 1},
    }


def converse_events(request: FakeRequest, reply: Reply, ids: IdSource) -> list[dict[str, Any]]:
    """ConverseStream's events as ``{event type: payload}``, in order."""
    final = converse_body(request, reply, ids)
    events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    for index, block in enumerate(final["output"]["message"]["content"]):
        if "text" in block:
            events.extend(
                {"contentBlockDelta": {"delta": {"text": piece}, "contentBlockIndex": index}}
                for piece in text_chunks(block["text"])
            )
        else:
            use = block["toolUse"]
            start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
            events.append({"contentBlockStart": {"start": start, "contentBlockIndex": index}})
            events.extend(
                {
                    "contentBlockDelta": {
                        "delta": {"toolUse": {"input": piece}},
                        "contentBlockIndex": index,
                    }
                }
                for piece in argument_chunks(json.dumps(use["input"]))
            )
        events.append({"contentBlockStop": {"contentBlockIndex": index}})
    events.append({"messageStop": {"stopReason": final["stopReason"]}})
    events.append({"metadata": {"usage": final["usage"], "metrics": {"latencyMs": 1}}})
    return events


def converse_answer(request: FakeRequest, reply: Reply, ids: IdSource) -> Answer:
    """The answer to ``/converse`` or ``/converse-stream``."""
    if not request.stream:
        return JsonAnswer(200, converse_body(request, reply, ids))
    frames = [
        EventFrame.event(kind, payload)
        for event in converse_events(request, reply, ids)
        for kind, payload in event.items()
    ]
    return _event_stream(frames)


def _event_stream(frames: list[EventFrame]) -> StreamAnswer:
    spoiled = frames[-1].spoiled().encode() if frames else b""
    return StreamAnswer(
        frames,
        content_type=CONTENT_TYPE,
        broken=spoiled,
        headers={"x-amzn-bedrock-content-type": "application/json"},
    )


# InvokeModel ---------------------------------------------------------------------------------


def _llama_chunks(request: FakeRequest, reply: Reply) -> list[dict[str, Any]]:
    counts = token_counts(request, reply)
    pieces = text_chunks(reply.text) or [""]
    chunks: list[dict[str, Any]] = [
        {
            "generation": piece,
            "prompt_token_count": counts.input_tokens if index == 0 else None,
            "generation_token_count": index + 1,
            "stop_reason": None,
        }
        for index, piece in enumerate(pieces)
    ]
    chunks[-1]["generation_token_count"] = counts.output_tokens
    chunks[-1]["stop_reason"] = "length" if reply.finish_reason == "length" else "stop"
    return chunks


def _family_chunks(request: FakeRequest, reply: Reply, ids: IdSource) -> list[dict[str, Any]]:
    family = model_family(request.path_model)
    if family == "anthropic":
        events = _anthropic.message_events(request, reply, ids)
        return [json.loads(e.data) for e in events if e.event != "ping"]
    if family == "meta":
        return _llama_chunks(request, reply)
    return converse_events(request, reply, ids)


def _family_body(request: FakeRequest, reply: Reply, ids: IdSource) -> dict[str, Any]:
    family = model_family(request.path_model)
    if family == "anthropic":
        return _anthropic.message_body(request, reply, ids)
    if family == "meta":
        counts = token_counts(request, reply)
        return {
            "generation": reply.text,
            "prompt_token_count": counts.input_tokens,
            "generation_token_count": counts.output_tokens,
            "stop_reason": "length" if reply.finish_reason == "length" else "stop",
        }
    return converse_body(request, reply, ids)


def invoke_answer(request: FakeRequest, reply: Reply, ids: IdSource) -> Answer:
    """The answer to ``/invoke`` or ``/invoke-with-response-stream`` in the family's format."""
    counts = token_counts(request, reply)
    if not request.stream:
        headers = {
            "X-Amzn-Bedrock-Input-Token-Count": str(counts.input_tokens),
            "X-Amzn-Bedrock-Output-Token-Count": str(counts.output_tokens),
            "X-Amzn-Bedrock-Invocation-Latency": "1",
        }
        return JsonAnswer(200, _family_body(request, reply, ids), headers)
    chunks = _family_chunks(request, reply, ids)
    chunks[-1]["amazon-bedrock-invocationMetrics"] = {
        "inputTokenCount": counts.input_tokens,
        "outputTokenCount": counts.output_tokens,
        "invocationLatency": 1,
        "firstByteLatency": 1,
    }
    frames = [
        EventFrame.event("chunk", {"bytes": base64.b64encode(json.dumps(chunk).encode()).decode()})
        for chunk in chunks
    ]
    return _event_stream(frames)
