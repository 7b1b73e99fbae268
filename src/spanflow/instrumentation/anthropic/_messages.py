"""Anthropic messages: request and response attributes, dataflow records, stream reassembly."""

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
    set_json_value,
    text_part,
    tool_call_part,
    tool_response_part,
)

_PARAMETERS = {
    "max_tokens": attr.GEN_AI_REQUEST_MAX_TOKENS,
    "temperature": attr.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": attr.GEN_AI_REQUEST_TOP_P,
    "top_k": attr.GEN_AI_REQUEST_TOP_K,
}


class MessagesAdapter:
    """``POST /v1/messages`` (``create``, ``stream=True``, ``stream()``)."""

    provider = "anthropic"
    operation = "chat"

    def read_request(self, body: Mapping[str, Any], options: ReadOptions) -> RequestFacts:
        model = body.get("model")
        found: Attributes = {}
        if isinstance(model, str):
            found[attr.GEN_AI_REQUEST_MODEL] = model
        for name, key in _PARAMETERS.items():
            value = body.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found[key] = value
        stop = body.get("stop_sequences")
        if isinstance(stop, list) and stop and all(isinstance(s, str) for s in stop):
            found[attr.GEN_AI_REQUEST_STOP_SEQUENCES] = stop
        messages = body.get("messages")
        messages = messages if isinstance(messages, list) else []
        system = body.get("system")
        if options.capture_content:
            set_json_array(found, attr.GEN_AI_INPUT_MESSAGES, (_input_message(m) for m in messages))
            if system:
                set_json_array(found, attr.GEN_AI_SYSTEM_INSTRUCTIONS, _content_parts(system))
            tools = body.get("tools")
            if isinstance(tools, list) and tools:
                set_json_value(found, attr.GEN_AI_TOOL_DEFINITIONS, tools)
        inputs = _inputs(system, messages) if options.dataflow else None
        return RequestFacts(span_name(self.operation, model), found, inputs)

    def read_response(self, response: Any, options: ReadOptions) -> ResponseFacts:
        found: Attributes = {}
        response_id = field_of(response, "id")
        if isinstance(response_id, str):
            found[attr.GEN_AI_RESPONSE_ID] = response_id
        model = field_of(response, "model")
        if isinstance(model, str):
            found[attr.GEN_AI_RESPONSE_MODEL] = model
        stop_reason = field_of(response, "stop_reason")
        if isinstance(stop_reason, str):
            found[attr.GEN_AI_RESPONSE_FINISH_REASONS] = [stop_reason]
        usage = field_of(response, "usage")
        if usage is not None:
            _set_usage(found, usage)
        blocks = field_of(response, "content") or []
        if options.capture_content:
            parts = _content_parts(blocks)
            set_json_array(
                found, attr.GEN_AI_OUTPUT_MESSAGES, [message("assistant", parts, stop_reason)]
            )
        outputs = _outputs(response_id, blocks) if options.dataflow else None
        return ResponseFacts(found, outputs)

    def new_accumulator(self) -> MessageEventAccumulator:
        return MessageEventAccumulator()


def _set_usage(found: Attributes, usage: Any) -> None:
    # The GenAI conventions count every input token, cached ones included; Anthropic reports
    # the uncached, cache-read and cache-write tokens apart, so they are summed here.
    uncached = field_of(usage, "input_tokens")
    read = field_of(usage, "cache_read_input_tokens")
    written = field_of(usage, "cache_creation_input_tokens")
    if isinstance(uncached, int):
        total = uncached + (read if isinstance(read, int) else 0)
        found[attr.GEN_AI_USAGE_INPUT_TOKENS] = total + (written if isinstance(written, int) else 0)
    if isinstance(read, int):
        found[attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = read
    if isinstance(written, int):
        found[attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] = written
    output = field_of(usage, "output_tokens")
    if isinstance(output, int):
        found[attr.GEN_AI_USAGE_OUTPUT_TOKENS] = output


def _content_parts(value: Any) -> list[Part]:
    if isinstance(value, str):
        return [text_part(value)]
    parts: list[Part] = []
    for block in value if isinstance(value, list) else ():
        kind = field_of(block, "type")
        if kind == "text":
            parts.append(text_part(field_of(block, "text")))
        elif kind == "tool_use":
            parts.append(
                tool_call_part(
                    field_of(block, "id"), field_of(block, "name"), field_of(block, "input")
                )
            )
        elif kind == "tool_result":
            result = field_of(block, "content")
            if isinstance(result, list):
                result = [field_of(p, "text") for p in result if field_of(p, "type") == "text"]
            parts.append(tool_response_part(field_of(block, "tool_use_id"), result))
        elif kind == "thinking":
            parts.append({"type": "reasoning", "content": field_of(block, "thinking")})
        elif isinstance(kind, str):
            parts.append({"type": kind})  # images, documents: the kind, never the payload
    return parts


def _input_message(item: Any) -> dict[str, Any]:
    return message(field_of(item, "role"), _content_parts(field_of(item, "content")))


def _inputs(system: Any, messages: list[Any]) -> CallInputs:
    fields: list[TextField] = []
    tool_call_ids: list[str] = []
    if isinstance(system, str) and system:
        fields.append(TextField("system", system, "system"))
    elif isinstance(system, list):
        for j, block in enumerate(system):
            text = field_of(block, "text")
            if isinstance(text, str) and text:
                fields.append(TextField(f"system[{j}].text", text, "system"))
    for i, item in enumerate(messages):
        role = field_of(item, "role")
        body = field_of(item, "content")
        if isinstance(body, str):
            if body:
                fields.append(TextField(f"messages[{i}].content", body, role))
            continue
        for j, block in enumerate(body if isinstance(body, list) else ()):
            _block_inputs(fields, tool_call_ids, f"messages[{i}].content[{j}]", block, role)
    return CallInputs(fields=tuple(fields), tool_call_ids=tuple(tool_call_ids))


def _block_inputs(
    fields: list[TextField], tool_call_ids: list[str], path: str, block: Any, role: Any
) -> None:
    kind = field_of(block, "type")
    if kind == "text":
        text = field_of(block, "text")
        if isinstance(text, str) and text:
            fields.append(TextField(f"{path}.text", text, role))
    elif kind == "tool_use":
        fields.append(TextField(f"{path}.input", as_text(field_of(block, "input")), role))
    elif kind == "tool_result":
        call_id = field_of(block, "tool_use_id")
        if isinstance(call_id, str):
            tool_call_ids.append(call_id)
        result = field_of(block, "content")
        if isinstance(result, str) and result:
            fields.append(TextField(f"{path}.content", result, "tool"))
        elif isinstance(result, list):
            for k, part in enumerate(result):
                text = field_of(part, "text")
                if isinstance(text, str) and text:
                    fields.append(TextField(f"{path}.content[{k}].text", text, "tool"))


def _outputs(response_id: Any, blocks: list[Any]) -> CallOutputs:
    fields: list[TextField] = []
    call_ids: list[str] = []
    for j, block in enumerate(blocks):
        kind = field_of(block, "type")
        if kind == "text":
            text = field_of(block, "text")
            if isinstance(text, str) and text:
                fields.append(TextField(f"content[{j}].text", text, "assistant"))
        elif kind == "tool_use":
            call_id = field_of(block, "id")
            if isinstance(call_id, str):
                call_ids.append(call_id)
            fields.append(
                TextField(f"content[{j}].input", as_text(field_of(block, "input")), "assistant")
            )
    return CallOutputs(
        fields=tuple(fields),
        response_id=response_id if isinstance(response_id, str) else None,
        tool_call_ids=tuple(call_ids),
    )


class MessageEventAccumulator:
    """Reassembles ``message_start`` ... ``message_stop`` events into a ``message``-shaped dict."""

    def __init__(self) -> None:
        self._message: dict[str, Any] = {}
        self._usage: dict[str, Any] = {}
        self._blocks: dict[int, dict[str, Any]] = {}
        self._pieces: dict[int, list[str]] = {}

    def add(self, event: Any) -> None:
        kind = field_of(event, "type")
        if kind == "content_block_delta":
            delta = field_of(event, "delta")
            piece = field_of(delta, "text")
            if piece is None:
                piece = field_of(delta, "partial_json")
            if piece is None:
                piece = field_of(delta, "thinking")
            if isinstance(piece, str):
                self._pieces.setdefault(field_of(event, "index") or 0, []).append(piece)
        elif kind == "message_start":
            started = field_of(event, "message")
            self._message = {"id": field_of(started, "id"), "model": field_of(started, "model")}
            self._merge_usage(field_of(started, "usage"))
        elif kind == "content_block_start":
            block = field_of(event, "content_block")
            self._blocks[field_of(event, "index") or 0] = {
                "type": field_of(block, "type"),
                "id": field_of(block, "id"),
                "name": field_of(block, "name"),
                "text": field_of(block, "text"),
            }
        elif kind == "message_delta":
            self._message["stop_reason"] = field_of(field_of(event, "delta"), "stop_reason")
            self._merge_usage(field_of(event, "usage"))

    def _merge_usage(self, usage: Any) -> None:
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        ):
            value = field_of(usage, name)
            if isinstance(value, int):
                self._usage[name] = value

    def response(self) -> dict[str, Any]:
        blocks = []
        for index in sorted(self._blocks):
            start = self._blocks[index]
            joined = "".join(self._pieces.get(index, ()))
            kind = start["type"]
            if kind == "tool_use":
                blocks.append(
                    {
                        "type": kind,
                        "id": start["id"],
                        "name": start["name"],
                        "input": _json_or_text(joined),
                    }
                )
            elif kind == "thinking":
                blocks.append({"type": kind, "thinking": joined})
            else:
                blocks.append({"type": kind, "text": (start["text"] or "") + joined})
        return {**self._message, "content": blocks, "usage": self._usage}


def _json_or_text(text: str) -> Any:
    import json

    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return text
