"""OpenAI chat completions: the neutral description of requests and responses, stream reassembly.

Also the wire format of every OpenAI-compatible server (vLLM, Ollama's ``/v1``, Groq, Together,
Azure OpenAI, LiteLLM's proxy) and of Mistral's chat API, which shares its message shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spanflow import attributes as attr
from spanflow.instrumentation import _description as d
from spanflow.instrumentation._description import CallRequest, CallResponse, Message, Part
from spanflow.instrumentation._facts import READERS, Attributes, field_of
from spanflow.instrumentation._message_cache import BoundedMemo, describe_messages
from spanflow.instrumentation.openai._common import request_parameters, tool_definitions

_PARAMETERS = {
    "temperature": attr.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": attr.GEN_AI_REQUEST_TOP_P,
    "frequency_penalty": attr.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": attr.GEN_AI_REQUEST_PRESENCE_PENALTY,
    "seed": attr.GEN_AI_REQUEST_SEED,
    "random_seed": attr.GEN_AI_REQUEST_SEED,
}


_DESCRIBED: BoundedMemo[Message] = BoundedMemo()  # re-sent history: _message_cache.py


class ChatCompletionsAdapter:
    """``POST /chat/completions`` (``create``, ``parse``, ``stream``)."""

    provider = "openai"
    operation = "chat"

    def read_request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest:
        found: Attributes = request_parameters(body, _PARAMETERS)
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        if isinstance(max_tokens, int):
            found[attr.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
        n = body.get("n")
        if isinstance(n, int) and n != 1:
            found[attr.GEN_AI_REQUEST_CHOICE_COUNT] = n
        stop = body.get("stop")
        if isinstance(stop, str):
            found[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = [stop]
        elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
            found[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = stop
        response_format = field_of(body.get("response_format"), "type")
        if isinstance(response_format, str):
            found[attr.GEN_AI_OUTPUT_TYPE] = "text" if response_format == "text" else "json"
        if not with_messages:
            return CallRequest(body.get("model"), found)
        messages = body.get("messages")
        return CallRequest(
            body.get("model"),
            found,
            messages=describe_messages(_DESCRIBED, messages, input_message),
            tool_definitions=tool_definitions(body.get("tools")),
        )

    def read_response(self, response: Any, with_messages: bool) -> CallResponse:
        choices = field_of(response, "choices") or []
        reasons = [field_of(c, "finish_reason") for c in choices]
        return CallResponse(
            response_id=field_of(response, "id"),
            model=field_of(response, "model"),
            finish_reasons=tuple(reasons) if all(isinstance(r, str) for r in reasons) else (),
            usage=usage_of(field_of(response, "usage")),
            messages=tuple(output_message(c, i) for i, c in enumerate(choices))
            if with_messages
            else (),
        )

    def new_accumulator(self) -> ChatChunkAccumulator:
        return ChatChunkAccumulator()


def usage_of(usage: Any) -> d.TokenUsage | None:
    """Chat completions ``usage``; None when the response carries none."""
    if usage is None:
        return None
    return d.TokenUsage(
        input_tokens=d.int_or_none(field_of(usage, "prompt_tokens")),
        output_tokens=d.int_or_none(field_of(usage, "completion_tokens")),
        cache_read_input_tokens=d.int_or_none(
            field_of(field_of(usage, "prompt_tokens_details"), "cached_tokens")
        ),
    )


def _content_parts(value: Any, path: str) -> list[Part]:
    if isinstance(value, str):
        return [d.text(value, path)]
    parts: list[Part] = []
    for j, item in enumerate(value if isinstance(value, list) else ()):
        kind = field_of(item, "type")
        if kind == "text":
            parts.append(d.text(field_of(item, "text"), f"{path}[{j}].text"))
        elif isinstance(kind, str):
            parts.append(d.other(kind))  # images, audio, files: the kind, never the payload
    return parts


def _tool_calls(calls: Any, path: str) -> list[Part]:
    parts: list[Part] = []
    for j, call in enumerate(calls or ()):
        function = field_of(call, "function")
        parts.append(
            d.tool_call(
                field_of(call, "id"),
                field_of(function, "name"),
                field_of(function, "arguments"),
                f"{path}.tool_calls[{j}].function.arguments",
            )
        )
    return parts


def input_message(item: Any, i: int) -> Message:
    """The ``i``-th request message (``messages[i]``)."""
    role = field_of(item, "role")
    path = f"messages[{i}]"
    if role == "tool":
        result = d.tool_result(
            field_of(item, "tool_call_id"), field_of(item, "content"), f"{path}.content"
        )
        return Message(role, (result,))
    parts = _content_parts(field_of(item, "content"), f"{path}.content")
    parts.extend(_tool_calls(field_of(item, "tool_calls"), path))
    return Message(role, tuple(parts))


def output_message(choice: Any, i: int) -> Message:
    """The ``i``-th choice's message (``choices[i].message``)."""
    reply = field_of(choice, "message")
    path = f"choices[{i}].message"
    parts: list[Part] = []
    content = field_of(reply, "content")
    if isinstance(content, str):
        parts.append(d.text(content, f"{path}.content"))
    refusal = field_of(reply, "refusal")
    if isinstance(refusal, str):
        parts.append(d.other("refusal", refusal))
    parts.extend(_tool_calls(field_of(reply, "tool_calls"), path))
    role = field_of(reply, "role") or "assistant"
    return Message(role, tuple(parts), field_of(choice, "finish_reason"))


class ChatChunkAccumulator:
    """Reassembles ``chat.completion.chunk`` events into a ``chat.completion``-shaped dict."""

    def __init__(self) -> None:
        self._id: str | None = None
        self._model: str | None = None
        self._usage: Any = None
        self._texts: dict[int, list[str]] = {}
        self._finish: dict[int, Any] = {}
        self._calls: dict[int, dict[int, dict[str, Any]]] = {}

    def add(self, event: Any) -> None:
        # Runs for every chunk: each object's fields are read with the reader of its type
        # (``getattr`` for the SDK's chunk models), not through a ``field_of`` call per field.
        read = READERS.get(type(event), field_of)
        if self._id is None:
            self._id = read(event, "id", None)
            self._model = read(event, "model", None)
        usage = read(event, "usage", None)
        if usage is not None:
            self._usage = usage
        for choice in read(event, "choices", None) or ():
            read = READERS.get(type(choice), field_of)
            index = read(choice, "index", None) or 0
            reason = read(choice, "finish_reason", None)
            if reason is not None:
                self._finish[index] = reason
            delta = read(choice, "delta", None)
            if delta is None:
                continue
            read = READERS.get(type(delta), field_of)
            text = read(delta, "content", None)
            if text:
                texts = self._texts.get(index)
                if texts is None:
                    texts = self._texts[index] = []
                texts.append(text)
            calls = read(delta, "tool_calls", None)
            if calls:
                for call in calls:
                    self._add_tool_call(index, call)

    def _add_tool_call(self, index: int, call: Any) -> None:
        slot = self._calls.setdefault(index, {}).setdefault(
            field_of(call, "index") or 0, {"id": None, "name": None, "arguments": []}
        )
        call_id = field_of(call, "id")
        if call_id:
            slot["id"] = call_id
        function = field_of(call, "function")
        name = field_of(function, "name")
        if name:
            slot["name"] = name
        arguments = field_of(function, "arguments")
        if arguments:
            slot["arguments"].append(arguments)

    def response(self) -> dict[str, Any]:
        indexes = sorted(set(self._texts) | set(self._finish) | set(self._calls))
        choices = []
        for index in indexes:
            reply: dict[str, Any] = {"role": "assistant", "content": None}
            if index in self._texts:
                reply["content"] = "".join(self._texts[index])
            calls = self._calls.get(index)
            if calls:
                reply["tool_calls"] = [
                    {
                        "id": slot["id"],
                        "type": "function",
                        "function": {"name": slot["name"], "arguments": "".join(slot["arguments"])},
                    }
                    for _, slot in sorted(calls.items())
                ]
            choices.append(
                {"index": index, "message": reply, "finish_reason": self._finish.get(index)}
            )
        return {"id": self._id, "model": self._model, "choices": choices, "usage": self._usage}
