"""Gemini's ``generateContent`` / ``streamGenerateContent`` / embeddings wire format, described.

Requests are the camelCase JSON bodies the ``google-genai`` SDK sends (``contents``,
``systemInstruction``, ``generationConfig``, ``tools``), wrapped with the path's model; responses
are the SDK's HTTP responses, whose JSON body is decoded only when the span ends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spanflow import attributes as attr
from spanflow.instrumentation import _description as d
from spanflow.instrumentation._description import CallRequest, CallResponse, Message, Part
from spanflow.instrumentation._facts import Attributes, field_of
from spanflow.instrumentation.openai._common import request_parameters
from spanflow.instrumentation.openai._embeddings import dimension_count

_PARAMETERS = {
    "temperature": attr.GEN_AI_REQUEST_TEMPERATURE,
    "topP": attr.GEN_AI_REQUEST_TOP_P,
    "topK": attr.GEN_AI_REQUEST_TOP_K,
    "maxOutputTokens": attr.GEN_AI_REQUEST_MAX_TOKENS,
    "seed": attr.GEN_AI_REQUEST_SEED,
    "presencePenalty": attr.GEN_AI_REQUEST_PRESENCE_PENALTY,
    "frequencyPenalty": attr.GEN_AI_REQUEST_FREQUENCY_PENALTY,
}
# Gemini says "model" where the GenAI conventions say "assistant".
_ROLES = {"model": "assistant", "function": "tool"}


@dataclass(frozen=True)
class GeminiRequest:
    """A request body with the model its path names (``models/gemini-2.0-flash``)."""

    model: str
    body: Mapping[str, Any]


def decoded(response: Any) -> Any:
    """The JSON body of an SDK HTTP response (``body`` is a JSON string), or ``response``."""
    body = getattr(response, "body", None)
    if isinstance(body, str):
        return json.loads(body) if body else {}
    return response


def _parameters(body: Mapping[str, Any]) -> Attributes:
    config = body.get("generationConfig")
    if not isinstance(config, Mapping):
        return {}
    found = request_parameters(config, _PARAMETERS)
    count = config.get("candidateCount")
    if isinstance(count, int) and count != 1:
        found[attr.GEN_AI_REQUEST_CHOICE_COUNT] = count
    stop = config.get("stopSequences")
    if isinstance(stop, list) and stop and all(isinstance(s, str) for s in stop):
        found[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = stop
    mime = config.get("responseMimeType")
    if isinstance(mime, str):
        found[attr.GEN_AI_OUTPUT_TYPE] = "json" if "json" in mime else "text"
    return found


def parts_of(content: Any, path: str) -> list[Part]:
    """The parts of a ``Content`` (``{role, parts}``) at ``path``."""
    found: list[Part] = []
    for j, part in enumerate(field_of(content, "parts") or ()):
        where = f"{path}.parts[{j}]"
        text = field_of(part, "text")
        call = field_of(part, "functionCall")
        result = field_of(part, "functionResponse")
        if isinstance(text, str):
            if field_of(part, "thought"):
                found.append(d.Part(d.REASONING, text))
            else:
                found.append(d.text(text, f"{where}.text"))
        elif call is not None:
            found.append(
                d.tool_call(
                    field_of(call, "id"),
                    field_of(call, "name"),
                    field_of(call, "args"),
                    f"{where}.functionCall.args",
                )
            )
        elif result is not None:
            found.append(
                d.Part(
                    d.TOOL_RESULT,
                    field_of(result, "response"),
                    call_id=field_of(result, "id"),
                    name=field_of(result, "name"),
                    path=f"{where}.functionResponse.response",
                )
            )
        elif isinstance(part, Mapping) and part:
            found.append(d.other(_kind(next(iter(part)))))  # inlineData, fileData...: kind only
    return found


def _kind(key: str) -> str:
    return {"inlineData": "blob", "fileData": "file", "executableCode": "executable_code"}.get(
        key, key
    )


def _role(content: Any, parts: list[Part]) -> str:
    role = field_of(content, "role")
    if parts and all(p.kind == d.TOOL_RESULT for p in parts):
        return "tool"
    return _ROLES.get(role, role) if isinstance(role, str) else "user"


def _tools(tools: Any) -> list[Any] | None:
    if not isinstance(tools, list):
        return None
    declarations = [
        {"type": "function", **declaration}
        for tool in tools
        for declaration in (field_of(tool, "functionDeclarations") or ())
        if isinstance(declaration, Mapping)
    ]
    return declarations or None


def _usage(metadata: Any) -> d.TokenUsage | None:
    if metadata is None:
        return None
    output = d.int_or_none(field_of(metadata, "candidatesTokenCount"))
    thoughts = d.int_or_none(field_of(metadata, "thoughtsTokenCount"))
    if thoughts is not None:  # thinking tokens are billed as output
        output = (output or 0) + thoughts
    return d.TokenUsage(
        input_tokens=d.int_or_none(field_of(metadata, "promptTokenCount")),
        output_tokens=output,
        cache_read_input_tokens=d.int_or_none(field_of(metadata, "cachedContentTokenCount")),
    )


class GenerateContentAdapter:
    """``models/{model}:generateContent`` and ``:streamGenerateContent``."""

    provider = "gcp.gemini"
    operation = "chat"

    def read_request(self, request: GeminiRequest, with_messages: bool) -> CallRequest:
        body = request.body
        found = _parameters(body)
        if not with_messages:
            return CallRequest(request.model, found)
        system = body.get("systemInstruction")
        contents = body.get("contents")
        messages = []
        for i, content in enumerate(contents if isinstance(contents, list) else ()):
            parts = parts_of(content, f"contents[{i}]")
            messages.append(Message(_role(content, parts), tuple(parts)))
        return CallRequest(
            request.model,
            found,
            system=tuple(parts_of(system, "systemInstruction")) if system else (),
            messages=tuple(messages),
            tool_definitions=_tools(body.get("tools")),
        )

    def read_response(self, response: Any, with_messages: bool) -> CallResponse:
        response = decoded(response)
        candidates = field_of(response, "candidates") or []
        reasons = [field_of(c, "finishReason") for c in candidates]
        finish = tuple(r.lower() for r in reasons if isinstance(r, str))
        messages: tuple[Message, ...] = ()
        if with_messages:
            built = []
            for i, candidate in enumerate(candidates):
                parts = parts_of(field_of(candidate, "content"), f"candidates[{i}].content")
                reason = reasons[i].lower() if isinstance(reasons[i], str) else None
                built.append(Message("assistant", tuple(parts), reason))
            messages = tuple(built)
        return CallResponse(
            response_id=field_of(response, "responseId"),
            model=field_of(response, "modelVersion"),
            finish_reasons=finish,
            usage=_usage(field_of(response, "usageMetadata")),
            messages=messages,
        )

    def new_accumulator(self) -> StreamChunkAccumulator:
        return StreamChunkAccumulator()


class EmbedContentAdapter:
    """``models/{model}:batchEmbedContents`` and ``:embedContent``."""

    provider = "gcp.gemini"
    operation = "embeddings"

    def read_request(self, request: GeminiRequest, with_messages: bool) -> CallRequest:
        body = request.body
        requests = body.get("requests")
        if not isinstance(requests, list):
            requests = [body]
        found: Attributes = {}
        size = field_of(requests[0], "outputDimensionality") if requests else None
        if isinstance(size, int):
            found[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = size
        texts: list[Part] = []
        if with_messages:
            root = "requests" if "requests" in body else ""
            for i, item in enumerate(requests):
                path = f"{root}[{i}].content" if root else "content"
                texts.extend(parts_of(field_of(item, "content"), path))
        return CallRequest(request.model, found, inputs_only=tuple(texts))

    def read_response(self, response: Any, with_messages: bool) -> CallResponse:
        response = decoded(response)
        vectors = field_of(response, "embeddings") or [field_of(response, "embedding")]
        return CallResponse(attributes=dimension_count(field_of(vectors[0], "values")))

    def new_accumulator(self) -> StreamChunkAccumulator:
        return StreamChunkAccumulator()  # never used: embeddings do not stream


class StreamChunkAccumulator:
    """Joins ``streamGenerateContent`` chunks (SDK HTTP responses) into one response dict.

    Chunks are kept as the SDK hands them and decoded when the span ends, so following the
    stream costs a list append per chunk.
    """

    def __init__(self) -> None:
        self._chunks: list[Any] = []

    def add(self, event: Any) -> None:
        self._chunks.append(event)

    def response(self) -> dict[str, Any]:
        texts: dict[tuple[int, bool], list[str]] = {}
        others: dict[int, list[Any]] = {}
        reasons: dict[int, Any] = {}
        merged: dict[str, Any] = {}
        for chunk in self._chunks:
            body = decoded(chunk)
            for key in ("responseId", "modelVersion", "usageMetadata"):
                if field_of(body, key) is not None:
                    merged[key] = field_of(body, key)
            for position, candidate in enumerate(field_of(body, "candidates") or ()):
                index = field_of(candidate, "index") or position
                if field_of(candidate, "finishReason") is not None:
                    reasons[index] = field_of(candidate, "finishReason")
                for part in field_of(field_of(candidate, "content"), "parts") or ():
                    text = field_of(part, "text")
                    if isinstance(text, str):
                        texts.setdefault((index, bool(field_of(part, "thought"))), []).append(text)
                    else:
                        others.setdefault(index, []).append(part)
        indexes = sorted({i for i, _ in texts} | set(others) | set(reasons))
        merged["candidates"] = [
            {
                "index": index,
                "content": {"role": "model", "parts": self._parts(texts, others, index)},
                "finishReason": reasons.get(index),
            }
            for index in indexes
        ]
        return merged

    @staticmethod
    def _parts(
        texts: dict[tuple[int, bool], list[str]], others: dict[int, list[Any]], index: int
    ) -> list[Any]:
        parts: list[Any] = []
        if (index, True) in texts:
            parts.append({"text": "".join(texts[(index, True)]), "thought": True})
        if (index, False) in texts:
            parts.append({"text": "".join(texts[(index, False)])})
        return parts + others.get(index, [])
