"""Bedrock's ``invoke_model`` / ``invoke_model_with_response_stream``, per model family.

The request ``body`` is the model vendor's own format, picked by the model id: Anthropic's
Messages API (``anthropic.claude-*``, read by the Anthropic adapter), Amazon Nova's
Converse-shaped body (``amazon.nova-*``) and Meta Llama's ``prompt`` / ``generation``
(``meta.llama*``). Other families (Amazon Titan, Cohere, Mistral...) get a span with the model
and the token counts Bedrock reports beside the body (``X-Amzn-Bedrock-*-Token-Count`` headers,
or ``amazon-bedrock-invocationMetrics`` in a stream's last chunk), but no messages; their
operation is ``embeddings`` for an embedding model (``embed`` in its id), else ``chat``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from spanflow import attributes as attr
from spanflow.instrumentation import _description as d
from spanflow.instrumentation._description import CallRequest, CallResponse, Message
from spanflow.instrumentation._facts import Attributes, StreamAccumulator, field_of
from spanflow.instrumentation.anthropic._messages import MessageEventAccumulator, MessagesAdapter
from spanflow.instrumentation.bedrock import _converse
from spanflow.instrumentation.openai._common import request_parameters

_METRICS = "amazon-bedrock-invocationMetrics"
_VENDORS = ("anthropic", "amazon", "meta", "mistral", "cohere", "ai21", "deepseek")


class _Family(Protocol):
    operation: str

    def request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest: ...

    def response(self, body: Any, with_messages: bool) -> CallResponse: ...

    def accumulator(self) -> StreamAccumulator: ...


class _Anthropic:
    operation = "chat"
    _messages = MessagesAdapter()

    def request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest:
        return self._messages.read_request(body, with_messages)

    def response(self, body: Any, with_messages: bool) -> CallResponse:
        return self._messages.read_response(body, with_messages)

    def accumulator(self) -> StreamAccumulator:
        return MessageEventAccumulator()


class _Nova:
    operation = "chat"

    def request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest:
        return _converse.request_of(body, with_messages, None)

    def response(self, body: Any, with_messages: bool) -> CallResponse:
        return _converse.response_of(body, with_messages)

    def accumulator(self) -> StreamAccumulator:
        return _converse.ConverseStreamAccumulator()


_LLAMA_PARAMETERS = {
    "max_gen_len": attr.GEN_AI_REQUEST_MAX_TOKENS,
    "temperature": attr.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": attr.GEN_AI_REQUEST_TOP_P,
}


class _Llama:
    """Meta Llama: one ``prompt`` in (its chat template included), one ``generation`` out."""

    operation = "text_completion"

    def request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest:
        found: Attributes = request_parameters(body, _LLAMA_PARAMETERS)
        if not with_messages:
            return CallRequest(None, found)
        prompt = d.text(body.get("prompt"), "prompt")
        return CallRequest(None, found, messages=(Message("user", (prompt,)),))

    def response(self, body: Any, with_messages: bool) -> CallResponse:
        reason = field_of(body, "stop_reason")
        usage = None
        output = d.int_or_none(field_of(body, "generation_token_count"))
        if output is not None:
            prompt_tokens = d.int_or_none(field_of(body, "prompt_token_count"))
            usage = d.TokenUsage(input_tokens=prompt_tokens, output_tokens=output)
        messages: tuple[Message, ...] = ()
        if with_messages:
            text = d.text(field_of(body, "generation"), "generation")
            messages = (Message("assistant", (text,), reason),)
        return CallResponse(
            finish_reasons=(reason,) if isinstance(reason, str) else (),
            usage=usage,
            messages=messages,
        )

    def accumulator(self) -> StreamAccumulator:
        return _LlamaChunks()


class _LlamaChunks:
    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._last: dict[str, Any] = {}

    def add(self, event: Any) -> None:
        piece = event.get("generation")
        if isinstance(piece, str):
            self._pieces.append(piece)
        prompt_tokens = event.get("prompt_token_count")
        if prompt_tokens is not None:
            self._last["prompt_token_count"] = prompt_tokens
        for name in ("generation_token_count", "stop_reason"):
            if event.get(name) is not None:
                self._last[name] = event[name]

    def response(self) -> dict[str, Any]:
        return {**self._last, "generation": "".join(self._pieces)}


class _Other:
    """A family whose body spanflow does not read: the model and Bedrock's token counts."""

    def __init__(self, operation: str) -> None:
        self.operation = operation

    def request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest:
        return CallRequest()

    def response(self, body: Any, with_messages: bool) -> CallResponse:
        return CallResponse()

    def accumulator(self) -> StreamAccumulator:
        return _Ignored()


class _Ignored:
    def add(self, event: Any) -> None:
        pass

    def response(self) -> Any:
        return None


_FAMILIES: dict[str, _Family] = {"anthropic": _Anthropic(), "amazon": _Nova(), "meta": _Llama()}


def _family_of(model_id: Any) -> _Family:
    """The body reader for a model id, inference profile id (``us.anthropic...``) or ARN."""
    if not isinstance(model_id, str):
        return _Other("chat")
    name = model_id.rsplit("/", 1)[-1]
    parts = name.split(".")
    at = 1 if len(parts) > 2 and parts[1] in _VENDORS else 0
    vendor = parts[at]
    model = parts[at + 1] if len(parts) > at + 1 else ""
    if vendor == "amazon" and not model.startswith("nova"):
        vendor = "amazon.titan"  # Titan's inputText/results bodies: not read
    family = _FAMILIES.get(vendor)
    if family is not None:
        return family
    return _Other("embeddings" if "embed" in name else "chat")


def _decoded(body: Any) -> Any:
    """The JSON of a request or response body given as bytes or str (a file is left unread)."""
    if isinstance(body, (bytes, bytearray, str)):
        try:
            return json.loads(body)
        except ValueError:
            return None
    return None


def _header_usage(response: Any) -> d.TokenUsage | None:
    headers = field_of(field_of(response, "ResponseMetadata"), "HTTPHeaders")
    if not isinstance(headers, Mapping):
        return None
    output = d.int_or_none(_int(headers.get("x-amzn-bedrock-output-token-count")))
    if output is None:
        return None
    input_tokens = d.int_or_none(_int(headers.get("x-amzn-bedrock-input-token-count")))
    return d.TokenUsage(input_tokens=input_tokens, output_tokens=output)


def _metrics_usage(metrics: Any) -> d.TokenUsage | None:
    output = d.int_or_none(field_of(metrics, "outputTokenCount"))
    if output is None:
        return None
    return d.TokenUsage(d.int_or_none(field_of(metrics, "inputTokenCount")), output)


def _int(text: Any) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


class InvokeModelAdapter:
    """``invoke_model`` (and its stream) for one model family.

    The request is the boto3 call's parameters (``modelId``, ``body``); the response is
    ``{"body": decoded JSON, "ResponseMetadata": ...}`` or, streamed, what
    ``InvokeStreamAccumulator`` reassembles.
    """

    provider = _converse.PROVIDER

    def __init__(self, model_id: Any) -> None:
        self._family = _family_of(model_id)
        self.operation = self._family.operation

    def read_request(self, params: Mapping[str, Any], with_messages: bool) -> CallRequest:
        model = params.get("modelId")
        body = _decoded(params.get("body"))
        if not isinstance(body, Mapping):
            return CallRequest(model)
        return replace(self._family.request(body, with_messages), model=model)

    def read_response(self, response: Any, with_messages: bool) -> CallResponse:
        body = field_of(response, "body")
        described = self._family.response(body, with_messages) if body is not None else None
        if described is None:
            described = CallResponse()
        if described.usage is None:
            usage = _metrics_usage(field_of(response, "metrics")) or _header_usage(response)
            described = replace(described, usage=usage)
        return described

    def new_accumulator(self) -> InvokeStreamAccumulator:
        return InvokeStreamAccumulator(self._family.accumulator())


class InvokeStreamAccumulator:
    """Decodes each ``{"chunk": {"bytes": ...}}`` event and hands it to the family's reader."""

    def __init__(self, family: StreamAccumulator) -> None:
        self._family = family
        self._metrics: Any = None

    def add(self, event: Any) -> None:
        chunk = _decoded(field_of(field_of(event, "chunk"), "bytes"))
        if not isinstance(chunk, dict):
            return
        metrics = chunk.pop(_METRICS, None)
        if metrics is not None:
            self._metrics = metrics
        self._family.add(chunk)

    def response(self) -> dict[str, Any]:
        return {"body": self._family.response(), "metrics": self._metrics}
