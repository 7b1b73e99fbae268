"""OpenAI chat completions: request and response attributes, dataflow records, stream reassembly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spanflow import attributes as attr
from spanflow.dataflow.records import CallInputs, CallOutputs, TextField
from spanflow.instrumentation._facts import (
    Attributes,
    ReadOptions,
    RequestFacts,
    ResponseFacts,
    field_of,
    span_name,
)
from spanflow.instrumentation._messages import (
    Part,
    as_text,
    message,
    set_json_array,
    text_part,
    tool_call_part,
    tool_response_part,
)
from spanflow.instrumentation.openai._common import request_parameters, tool_definitions

_PARAMETERS = {
    "temperature": attr.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": attr.GEN_AI_REQUEST_TOP_P,
    "frequency_penalty": attr.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": attr.GEN_AI_REQUEST_PRESENCE_PENALTY,
    "seed": attr.GEN_AI_REQUEST_SEED,
}


class ChatCompletionsAdapter:
    """``POST /chat/completions`` (``create``, ``parse``, ``stream``)."""

    provider = "openai"
    operation = "chat"

    def read_request(self, body: Mapping[str, Any], options: ReadOptions) -> RequestFacts:
        model = body.get("model")
        found: Attributes = request_parameters(body, _PARAMETERS)
        if isinstance(model, str):
            found[attr.GEN_AI_REQUEST_MODEL] = model
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
        messages = body.get("messages")
        messages = messages if isinstance(messages, list) else []
        if options.capture_content:
            set_json_array(found, attr.GEN_AI_INPUT_MESSAGES, (_input_message(m) for m in messages))
            tool_definitions(found, body.get("tools"))
        inputs = _inputs(messages) if options.dataflow else None
        return RequestFacts(span_name(self.operation, model), found, inputs)

    def read_response(self, response: Any, options: ReadOptions) -> ResponseFacts:
        found: Attributes = {}
        response_id = field_of(response, "id")
        if isinstance(response_id, str):
            found[attr.GEN_AI_RESPONSE_ID] = response_id
        model = field_of(response, "model")
        if isinstance(model, str):
            found[attr.GEN_AI_RESPONSE_MODEL] = model
        choices = field_of(response, "choices") or []
        reasons = [field_of(c, "finish_reason") for c in choices]
        if reasons and all(isinstance(r, str) for r in reasons):
            found[attr.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
        usage = field_of(response, "usage")
        if usage is not None:
            _set_usage(found, usage)
        if options.capture_content:
            set_json_array(
                found, attr.GEN_AI_OUTPUT_MESSAGES, (_output_message(c) for c in choices)
            )
        outputs = _outputs(response_id, choices) if options.dataflow else None
        return ResponseFacts(found, outputs)

    def new_accumulator(self) -> ChatChunkAccumulator:
        return ChatChunkAccumulator()


def _set_usage(found: Attributes, usage: Any) -> None:
    prompt = field_of(usage, "prompt_tokens")
    completion = field_of(usage, "completion_tokens")
    if isinstance(prompt, int):
        found[attr.GEN_AI_USAGE_INPUT_TOKENS] = prompt
    if isinstance(completion, int):
        found[attr.GEN_AI_USAGE_OUTPUT_TOKENS] = completion
    cached = field_of(field_of(usage, "prompt_tokens_details"), "cached_tokens")
    if isinstance(cached, int):
        found[attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = cached


def _content_parts(value: Any) -> list[Part]:
    if isinstance(value, str):
        return [text_part(value)]
    parts: list[Part] = []
    for item in value if isinstance(value, list) else ():
        kind = field_of(item, "type")
        if kind == "text":
            parts.append(text_part(field_of(item, "text")))
        elif isinstance(kind, str):
            parts.append({"type": kind})  # images, audio, files: the kind, never the payload
    return parts


def _input_message(item: Any) -> dict[str, Any]:
    role = field_of(item, "role")
    if role == "tool":
        return message(
            role, [tool_response_part(field_of(item, "tool_call_id"), field_of(item, "content"))]
        )
    parts = _content_parts(field_of(item, "content"))
    for call in field_of(item, "tool_calls") or ():
        function = field_of(call, "function")
        parts.append(
            tool_call_part(
                field_of(call, "id"), field_of(function, "name"), field_of(function, "arguments")
            )
        )
    return message(role, parts)


def _output_message(choice: Any) -> dict[str, Any]:
    reply = field_of(choice, "message")
    parts: list[Part] = []
    text = field_of(reply, "content")
    if isinstance(text, str):
        parts.append(text_part(text))
    refusal = field_of(reply, "refusal")
    if isinstance(refusal, str):
        parts.append({"type": "refusal", "content": refusal})
    for call in field_of(reply, "tool_calls") or ():
        function = field_of(call, "function")
        parts.append(
            tool_call_part(
                field_of(call, "id"), field_of(function, "name"), field_of(function, "arguments")
            )
        )
    return message(field_of(reply, "role") or "assistant", parts, field_of(choice, "finish_reason"))


def _inputs(messages: list[Any]) -> CallInputs:
    fields: list[TextField] = []
    tool_call_ids: list[str] = []
    for i, item in enumerate(messages):
        role = field_of(item, "role")
        body = field_of(item, "content")
        if role == "tool":
            call_id = field_of(item, "tool_call_id")
            if isinstance(call_id, str):
                tool_call_ids.append(call_id)
        if isinstance(body, str):
            if body:
                fields.append(TextField(f"messages[{i}].content", body, role))
        elif isinstance(body, list):
            for j, part in enumerate(body):
                text = field_of(part, "text")
                if isinstance(text, str) and text:
                    fields.append(TextField(f"messages[{i}].content[{j}].text", text, role))
        for j, call in enumerate(field_of(item, "tool_calls") or ()):
            arguments = field_of(field_of(call, "function"), "arguments")
            if arguments:
                path = f"messages[{i}].tool_calls[{j}].function.arguments"
                fields.append(TextField(path, as_text(arguments), role))
    return CallInputs(fields=tuple(fields), tool_call_ids=tuple(tool_call_ids))


def _outputs(response_id: Any, choices: list[Any]) -> CallOutputs:
    fields: list[TextField] = []
    call_ids: list[str] = []
    for i, choice in enumerate(choices):
        reply = field_of(choice, "message")
        text = field_of(reply, "content")
        if isinstance(text, str) and text:
            fields.append(TextField(f"choices[{i}].message.content", text, "assistant"))
        for j, call in enumerate(field_of(reply, "tool_calls") or ()):
            call_id = field_of(call, "id")
            if isinstance(call_id, str):
                call_ids.append(call_id)
            arguments = field_of(field_of(call, "function"), "arguments")
            if arguments:
                path = f"choices[{i}].message.tool_calls[{j}].function.arguments"
                fields.append(TextField(path, as_text(arguments), "assistant"))
    return CallOutputs(
        fields=tuple(fields),
        response_id=response_id if isinstance(response_id, str) else None,
        tool_call_ids=tuple(call_ids),
    )


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
        if self._id is None:
            self._id = field_of(event, "id")
            self._model = field_of(event, "model")
        usage = field_of(event, "usage")
        if usage is not None:
            self._usage = usage
        for choice in field_of(event, "choices") or ():
            index = field_of(choice, "index") or 0
            reason = field_of(choice, "finish_reason")
            if reason is not None:
                self._finish[index] = reason
            delta = field_of(choice, "delta")
            if delta is None:
                continue
            text = field_of(delta, "content")
            if text:
                self._texts.setdefault(index, []).append(text)
            for call in field_of(delta, "tool_calls") or ():
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
