"""Ollama's native API (``/api/chat``, ``/api/generate``, ``/api/embed``) as neutral descriptions.

Requests are the JSON bodies the ``ollama`` client sends; responses are its ``ChatResponse`` /
``GenerateResponse`` / ``EmbedResponse`` models, or dicts reassembled from an NDJSON stream.
Ollama's tool calls carry no ids, so dataflow links tool results to calls by their text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spanflow import attributes as attr
from spanflow.instrumentation import _description as d
from spanflow.instrumentation._description import CallRequest, CallResponse, Message, Part
from spanflow.instrumentation._facts import Attributes, field_of
from spanflow.instrumentation.openai._common import request_parameters, tool_definitions
from spanflow.instrumentation.openai._embeddings import dimension_count, embedded_texts

PROVIDER = "ollama"
_OPTIONS = {
    "temperature": attr.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": attr.GEN_AI_REQUEST_TOP_P,
    "top_k": attr.GEN_AI_REQUEST_TOP_K,
    "num_predict": attr.GEN_AI_REQUEST_MAX_TOKENS,
    "seed": attr.GEN_AI_REQUEST_SEED,
    "frequency_penalty": attr.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": attr.GEN_AI_REQUEST_PRESENCE_PENALTY,
}


def _options(body: Mapping[str, Any]) -> Attributes:
    options = body.get("options")
    if not isinstance(options, Mapping):
        return {}
    found = request_parameters(options, _OPTIONS)
    stop = options.get("stop")
    if isinstance(stop, list) and stop and all(isinstance(s, str) for s in stop):
        found[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = stop
    if body.get("format"):
        found[attr.GEN_AI_OUTPUT_TYPE] = "json"
    return found


def _usage(response: Any) -> d.TokenUsage | None:
    prompt = d.int_or_none(field_of(response, "prompt_eval_count"))
    completion = d.int_or_none(field_of(response, "eval_count"))
    if prompt is None and completion is None:
        return None
    return d.TokenUsage(input_tokens=prompt, output_tokens=completion)


def _finish(response: Any) -> tuple[str, ...]:
    reason = field_of(response, "done_reason")
    return (reason,) if isinstance(reason, str) and reason else ()


def _message_parts(item: Any, path: str) -> list[Part]:
    parts: list[Part] = []
    thinking = field_of(item, "thinking")
    if isinstance(thinking, str) and thinking:
        parts.append(d.Part(d.REASONING, thinking))
    content = field_of(item, "content")
    if field_of(item, "role") == "tool":
        parts.append(
            d.Part(d.TOOL_RESULT, content, name=field_of(item, "tool_name"), path=f"{path}.content")
        )
        return parts
    if isinstance(content, str) and (content or not field_of(item, "tool_calls")):
        parts.append(d.text(content, f"{path}.content"))
    if field_of(item, "images"):
        parts.append(d.other("image"))
    for j, call in enumerate(field_of(item, "tool_calls") or ()):
        function = field_of(call, "function")
        parts.append(
            d.tool_call(
                None,
                field_of(function, "name"),
                field_of(function, "arguments"),
                f"{path}.tool_calls[{j}].function.arguments",
            )
        )
    return parts


class ChatAdapter:
    """``POST /api/chat``."""

    provider = PROVIDER
    operation = "chat"

    def read_request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest:
        found = _options(body)
        if not with_messages:
            return CallRequest(body.get("model"), found)
        messages = body.get("messages")
        return CallRequest(
            body.get("model"),
            found,
            messages=tuple(
                Message(field_of(m, "role"), tuple(_message_parts(m, f"messages[{i}]")))
                for i, m in enumerate(messages if isinstance(messages, list) else ())
            ),
            tool_definitions=tool_definitions(body.get("tools")),
        )

    def read_response(self, response: Any, with_messages: bool) -> CallResponse:
        finish = _finish(response)
        messages: tuple[Message, ...] = ()
        if with_messages:
            reply = field_of(response, "message")
            parts = tuple(_message_parts(reply, "message"))
            messages = (
                Message(
                    field_of(reply, "role") or "assistant", parts, finish[0] if finish else None
                ),
            )
        return CallResponse(
            model=field_of(response, "model"),
            finish_reasons=finish,
            usage=_usage(response),
            messages=messages,
        )

    def new_accumulator(self) -> ChatChunkAccumulator:
        return ChatChunkAccumulator()


class GenerateAdapter:
    """``POST /api/generate`` (a prompt, an optional system prompt, no history)."""

    provider = PROVIDER
    operation = "text_completion"

    def read_request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest:
        found = _options(body)
        if not with_messages:
            return CallRequest(body.get("model"), found)
        system = body.get("system")
        parts = [d.text(body.get("prompt"), "prompt")]
        if body.get("images"):
            parts.append(d.other("image"))
        return CallRequest(
            body.get("model"),
            found,
            system=(d.text(system, "system"),) if isinstance(system, str) and system else (),
            messages=(Message("user", tuple(parts)),),
        )

    def read_response(self, response: Any, with_messages: bool) -> CallResponse:
        finish = _finish(response)
        messages: tuple[Message, ...] = ()
        if with_messages:
            parts: list[Part] = []
            thinking = field_of(response, "thinking")
            if isinstance(thinking, str) and thinking:
                parts.append(d.Part(d.REASONING, thinking))
            parts.append(d.text(field_of(response, "response") or "", "response"))
            messages = (Message("assistant", tuple(parts), finish[0] if finish else None),)
        return CallResponse(
            model=field_of(response, "model"),
            finish_reasons=finish,
            usage=_usage(response),
            messages=messages,
        )

    def new_accumulator(self) -> GenerateChunkAccumulator:
        return GenerateChunkAccumulator()


class EmbedAdapter:
    """``POST /api/embed``."""

    provider = PROVIDER
    operation = "embeddings"

    def read_request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest:
        found = _options(body)
        dimensions = body.get("dimensions")
        if isinstance(dimensions, int):
            found[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = dimensions
        inputs = embedded_texts(body.get("input"), "input") if with_messages else ()
        return CallRequest(body.get("model"), found, inputs_only=inputs)

    def read_response(self, response: Any, with_messages: bool) -> CallResponse:
        vectors = field_of(response, "embeddings") or []
        return CallResponse(
            model=field_of(response, "model"),
            usage=_usage(response),
            attributes=dimension_count(vectors[0] if vectors else None),
        )

    def new_accumulator(self) -> GenerateChunkAccumulator:
        return GenerateChunkAccumulator()  # never used: embed does not stream


class _Accumulator:
    """What chat and generate streams share: the last chunk's counts and reasons, joined text."""

    def __init__(self) -> None:
        self._final: Mapping[str, Any] = {}
        self._model: Any = None
        self._texts: list[str] = []
        self._thinking: list[str] = []

    def _take(self, event: Any, text: Any, thinking: Any) -> None:
        if self._model is None:
            self._model = field_of(event, "model")
        if isinstance(text, str) and text:
            self._texts.append(text)
        if isinstance(thinking, str) and thinking:
            self._thinking.append(thinking)
        if field_of(event, "done"):
            self._final = {
                name: field_of(event, name)
                for name in ("done_reason", "prompt_eval_count", "eval_count")
            }


class ChatChunkAccumulator(_Accumulator):
    """Joins ``/api/chat`` stream chunks into one ``ChatResponse``-shaped dict."""

    def __init__(self) -> None:
        super().__init__()
        self._tool_calls: list[Any] = []

    def add(self, event: Any) -> None:
        message = field_of(event, "message")
        self._take(event, field_of(message, "content"), field_of(message, "thinking"))
        self._tool_calls.extend(field_of(message, "tool_calls") or ())

    def response(self) -> dict[str, Any]:
        message = {
            "role": "assistant",
            "content": "".join(self._texts),
            "thinking": "".join(self._thinking),
            "tool_calls": self._tool_calls,
        }
        return {"model": self._model, "message": message, **self._final}


class GenerateChunkAccumulator(_Accumulator):
    """Joins ``/api/generate`` stream chunks into one ``GenerateResponse``-shaped dict."""

    def add(self, event: Any) -> None:
        self._take(event, field_of(event, "response"), field_of(event, "thinking"))

    def response(self) -> dict[str, Any]:
        return {
            "model": self._model,
            "response": "".join(self._texts),
            "thinking": "".join(self._thinking),
            **self._final,
        }
