"""OpenAI Responses API: request and response attributes, dataflow records, stream reassembly."""

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
    "max_output_tokens": attr.GEN_AI_REQUEST_MAX_TOKENS,
}
_TEXT_PART_TYPES = frozenset({"input_text", "output_text", "text"})


class ResponsesAdapter:
    """``POST /responses`` (``create``, ``parse``, ``stream``)."""

    provider = "openai"
    operation = "chat"

    def read_request(self, body: Mapping[str, Any], options: ReadOptions) -> RequestFacts:
        model = body.get("model")
        found: Attributes = request_parameters(body, _PARAMETERS)
        if isinstance(model, str):
            found[attr.GEN_AI_REQUEST_MODEL] = model
        conversation = body.get("conversation")
        conversation = (
            field_of(conversation, "id") if not isinstance(conversation, str) else conversation
        )
        if isinstance(conversation, str):
            found[attr.GEN_AI_CONVERSATION_ID] = conversation
        text_format = field_of(field_of(body.get("text"), "format"), "type")
        if isinstance(text_format, str):
            found[attr.GEN_AI_OUTPUT_TYPE] = "text" if text_format == "text" else "json"
        items = body.get("input")
        items = [{"role": "user", "content": items}] if isinstance(items, str) else items
        items = items if isinstance(items, list) else []
        instructions = body.get("instructions")
        if options.capture_content:
            set_json_array(found, attr.GEN_AI_INPUT_MESSAGES, _input_messages(items))
            if isinstance(instructions, str) and instructions:
                set_json_array(found, attr.GEN_AI_SYSTEM_INSTRUCTIONS, [text_part(instructions)])
            tool_definitions(found, body.get("tools"))
        inputs = None
        if options.dataflow:
            inputs = _inputs(
                body.get("input"), items, instructions, body.get("previous_response_id")
            )
        return RequestFacts(span_name(self.operation, model), found, inputs)

    def read_response(self, response: Any, options: ReadOptions) -> ResponseFacts:
        found: Attributes = {}
        response_id = field_of(response, "id")
        if isinstance(response_id, str):
            found[attr.GEN_AI_RESPONSE_ID] = response_id
        model = field_of(response, "model")
        if isinstance(model, str):
            found[attr.GEN_AI_RESPONSE_MODEL] = model
        items = field_of(response, "output") or []
        reason = _finish_reason(response, items)
        if reason is not None:
            found[attr.GEN_AI_RESPONSE_FINISH_REASONS] = [reason]
        usage = field_of(response, "usage")
        for name, key in (
            ("input_tokens", attr.GEN_AI_USAGE_INPUT_TOKENS),
            ("output_tokens", attr.GEN_AI_USAGE_OUTPUT_TOKENS),
        ):
            value = field_of(usage, name)
            if isinstance(value, int):
                found[key] = value
        cached = field_of(field_of(usage, "input_tokens_details"), "cached_tokens")
        if isinstance(cached, int):
            found[attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = cached
        if options.capture_content:
            parts = [part for item in items for part in _item_parts(item)]
            set_json_array(
                found, attr.GEN_AI_OUTPUT_MESSAGES, [message("assistant", parts, reason)]
            )
        outputs = _outputs(response_id, items) if options.dataflow else None
        return ResponseFacts(found, outputs)

    def new_accumulator(self) -> ResponseEventAccumulator:
        return ResponseEventAccumulator()


def _finish_reason(response: Any, items: list[Any]) -> str | None:
    status = field_of(response, "status")
    if status == "incomplete":
        reason = field_of(field_of(response, "incomplete_details"), "reason")
        return reason if isinstance(reason, str) else "incomplete"
    if status == "failed":
        return "error"
    if status != "completed":
        return None
    if any(field_of(item, "type") == "function_call" for item in items):
        return "tool_calls"
    return "stop"


def _item_parts(item: Any) -> list[Part]:
    kind = field_of(item, "type")
    if kind == "function_call":
        return [
            tool_call_part(
                field_of(item, "call_id"), field_of(item, "name"), field_of(item, "arguments")
            )
        ]
    if kind == "function_call_output":
        return [tool_response_part(field_of(item, "call_id"), field_of(item, "output"))]
    if kind == "item_reference":
        return [{"type": "item_reference", "id": field_of(item, "id")}]
    body = field_of(item, "content")
    if isinstance(body, str):
        return [text_part(body)]
    parts: list[Part] = []
    for part in body if isinstance(body, list) else ():
        part_type = field_of(part, "type")
        if part_type in _TEXT_PART_TYPES:
            parts.append(text_part(field_of(part, "text")))
        elif part_type == "refusal":
            parts.append({"type": "refusal", "content": field_of(part, "refusal")})
        elif isinstance(part_type, str):
            parts.append({"type": part_type})
    if not parts and isinstance(kind, str) and kind != "message":
        parts.append({"type": kind})
    return parts


def _input_messages(items: list[Any]) -> Any:
    for item in items:
        kind = field_of(item, "type")
        if kind == "function_call":
            role = "assistant"
        elif kind == "function_call_output":
            role = "tool"
        else:
            role = field_of(item, "role") or "user"
        yield message(role, _item_parts(item))


def _inputs(raw_input: Any, items: list[Any], instructions: Any, previous: Any) -> CallInputs:
    fields: list[TextField] = []
    tool_call_ids: list[str] = []
    item_ids: list[str] = []
    if isinstance(instructions, str) and instructions:
        fields.append(TextField("instructions", instructions, "system"))
    if isinstance(raw_input, str):
        if raw_input:
            fields.append(TextField("input", raw_input, "user"))
        items = []
    for i, item in enumerate(items):
        kind = field_of(item, "type")
        item_id = field_of(item, "id")
        if isinstance(item_id, str):
            item_ids.append(item_id)
        if kind == "function_call_output":
            call_id = field_of(item, "call_id")
            if isinstance(call_id, str):
                tool_call_ids.append(call_id)
            output = field_of(item, "output")
            if output:
                fields.append(TextField(f"input[{i}].output", as_text(output), "tool"))
        elif kind == "function_call":
            arguments = field_of(item, "arguments")
            if arguments:
                fields.append(TextField(f"input[{i}].arguments", as_text(arguments), "assistant"))
        elif kind in (None, "message"):
            role = field_of(item, "role")
            body = field_of(item, "content")
            if isinstance(body, str):
                if body:
                    fields.append(TextField(f"input[{i}].content", body, role))
                continue
            for j, part in enumerate(body if isinstance(body, list) else ()):
                text = field_of(part, "text")
                if isinstance(text, str) and text:
                    fields.append(TextField(f"input[{i}].content[{j}].text", text, role))
    return CallInputs(
        fields=tuple(fields),
        previous_response_id=previous if isinstance(previous, str) else None,
        tool_call_ids=tuple(tool_call_ids),
        response_item_ids=tuple(item_ids),
    )


def _outputs(response_id: Any, items: list[Any]) -> CallOutputs:
    fields: list[TextField] = []
    call_ids: list[str] = []
    item_ids: list[str] = []
    for k, item in enumerate(items):
        item_id = field_of(item, "id")
        if isinstance(item_id, str):
            item_ids.append(item_id)
        kind = field_of(item, "type")
        if kind == "function_call":
            call_id = field_of(item, "call_id")
            if isinstance(call_id, str):
                call_ids.append(call_id)
            arguments = field_of(item, "arguments")
            if arguments:
                fields.append(TextField(f"output[{k}].arguments", as_text(arguments), "assistant"))
        elif kind == "message":
            for j, part in enumerate(field_of(item, "content") or ()):
                text = field_of(part, "text")
                if isinstance(text, str) and text:
                    fields.append(TextField(f"output[{k}].content[{j}].text", text, "assistant"))
    return CallOutputs(
        fields=tuple(fields),
        response_id=response_id if isinstance(response_id, str) else None,
        tool_call_ids=tuple(call_ids),
        item_ids=tuple(item_ids),
    )


class ResponseEventAccumulator:
    """Keeps the latest ``response`` snapshot a Responses stream carries.

    ``response.created`` / ``in_progress`` / ``completed`` / ``incomplete`` / ``failed`` each
    carry the whole response, and the final one has every output item; output items that are
    done before a stream is cut off are kept as well.
    """

    _SNAPSHOT_EVENTS = frozenset(
        {
            "response.created",
            "response.in_progress",
            "response.completed",
            "response.incomplete",
            "response.failed",
        }
    )

    def __init__(self) -> None:
        self._snapshot: Any = None
        self._done_items: dict[int, Any] = {}

    def add(self, event: Any) -> None:
        kind = field_of(event, "type")
        if kind in self._SNAPSHOT_EVENTS:
            self._snapshot = field_of(event, "response")
        elif kind == "response.output_item.done":
            self._done_items[field_of(event, "output_index") or 0] = field_of(event, "item")

    def response(self) -> Any:
        snapshot = self._snapshot
        if snapshot is not None and field_of(snapshot, "output"):
            return snapshot
        return {
            "id": field_of(snapshot, "id"),
            "model": field_of(snapshot, "model"),
            "status": field_of(snapshot, "status"),
            "output": [item for _, item in sorted(self._done_items.items())],
            "usage": field_of(snapshot, "usage"),
        }
