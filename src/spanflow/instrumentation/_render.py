"""From a neutral call description to span attributes (GenAI conventions) and dataflow records.

One walk per message list: the semconv JSON is written only with content capture on, the
dataflow fields only with dataflow on, and adapters are asked for messages only when one of
the two needs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from spanflow import attributes as attr
from spanflow._internal import redact as redaction
from spanflow.dataflow.records import CallInputs, CallOutputs, TextField
from spanflow.instrumentation import content
from spanflow.instrumentation._description import (
    TEXT,
    TOOL_CALL,
    TOOL_RESULT,
    CallRequest,
    CallResponse,
    Message,
    Part,
)
from spanflow.instrumentation._facts import (
    ApiAdapter,
    Attributes,
    ReadOptions,
    RequestFacts,
    ResponseFacts,
    field_of,
    span_name,
)
from spanflow.instrumentation._message_cache import MessageMemory
from spanflow.instrumentation._messages import (
    BoundedArray,
    as_text,
    decode_arguments,
    set_json_array,
    set_json_value,
)
from spanflow.redaction import Redactor

# A re-sent message is encoded (and its dataflow fields listed) once: see _message_cache.py.
_MEMORY = MessageMemory()


def read_request(adapter: ApiAdapter, body: Any, options: ReadOptions) -> RequestFacts:
    """The span name, start attributes and dataflow inputs of a request."""
    capture, dataflow = options.capture_content, options.dataflow
    request = adapter.read_request(body, capture or dataflow)
    found: Attributes = {}
    if isinstance(request.model, str) and request.model:
        found[attr.GEN_AI_REQUEST_MODEL] = request.model
    found.update(request.attributes)
    inputs = None
    if capture or dataflow:
        inputs = _read_messages(request, found, capture=capture, dataflow=dataflow)
    if capture:
        if request.system:
            set_json_array(
                found, attr.GEN_AI_SYSTEM_INSTRUCTIONS, map(semconv_part, request.system)
            )
        if isinstance(request.tool_definitions, list) and request.tool_definitions:
            set_json_value(found, attr.GEN_AI_TOOL_DEFINITIONS, request.tool_definitions)
    return RequestFacts(span_name(adapter.operation, request.model), found, inputs)


def _read_messages(
    request: CallRequest, found: Attributes, *, capture: bool, dataflow: bool
) -> CallInputs | None:
    """One walk over the request messages: their GenAI JSON (``capture``) into ``found``, and
    the dataflow record (``dataflow``). Each distinct message is encoded and listed once
    (``_message_cache.py``); the JSON stops at the content bound."""
    redactor = redaction.active_redactor() if capture else None
    array = BoundedArray() if capture and request.messages else None
    fields: list[TextField] = list(_fields(request.system, "system")) if dataflow else []
    tool_call_ids: list[str] = []
    for message in request.messages:
        entry = _MEMORY.entry(message)
        if array is not None:
            if entry is None:
                array.add(_encode(message, redactor))
            else:
                known = entry.encoded
                if known is None or known[0] is not redactor:
                    known = entry.encoded = (redactor, _encode(message, redactor))
                array.add(known[1])
            if array.cut:
                array.set_on(found, attr.GEN_AI_INPUT_MESSAGES, redacted_by=redactor)
                array = None
        if dataflow:
            if entry is None:
                message_fields, result_ids = _message_inputs(message)
            else:
                if entry.inputs is None:
                    entry.inputs = _message_inputs(message)
                message_fields, result_ids = entry.inputs
            fields.extend(message_fields)
            tool_call_ids.extend(result_ids)
        elif array is None:
            break  # the JSON is cut and dataflow is off: nothing more to read
    if array is not None:
        array.set_on(found, attr.GEN_AI_INPUT_MESSAGES, redacted_by=redactor)
    if not dataflow:
        return None
    fields.extend(_fields(request.inputs_only, "user"))
    previous = request.previous_response_id
    return CallInputs(
        fields=tuple(fields),
        previous_response_id=previous if isinstance(previous, str) else None,
        tool_call_ids=tuple(tool_call_ids),
        response_item_ids=request.response_item_ids,
    )


def _encode(message: Message, redactor: Redactor | None) -> str:
    return redaction.cached_text(content.to_json(semconv_message(message)), redactor)


def read_response(adapter: ApiAdapter, response: Any, options: ReadOptions) -> ResponseFacts:
    """The end attributes and dataflow outputs of a response (a model, a dict, or reassembled)."""
    described = adapter.read_response(response, options.capture_content or options.dataflow)
    found = response_attributes(described)
    if options.capture_content and described.messages:
        set_json_array(found, attr.GEN_AI_OUTPUT_MESSAGES, map(semconv_message, described.messages))
    outputs = call_outputs(described) if options.dataflow else None
    return ResponseFacts(found, outputs)


def response_attributes(response: CallResponse) -> Attributes:
    """The attributes of a response that do not depend on content capture."""
    found: Attributes = {}
    if isinstance(response.response_id, str) and response.response_id:
        found[attr.GEN_AI_RESPONSE_ID] = response.response_id
    if isinstance(response.model, str) and response.model:
        found[attr.GEN_AI_RESPONSE_MODEL] = response.model
    if response.finish_reasons:
        found[attr.GEN_AI_RESPONSE_FINISH_REASONS] = list(response.finish_reasons)
    usage = response.usage
    if usage is not None:
        for key, value in (
            (attr.GEN_AI_USAGE_INPUT_TOKENS, usage.input_tokens),
            (attr.GEN_AI_USAGE_OUTPUT_TOKENS, usage.output_tokens),
            (attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, usage.cache_read_input_tokens),
            (attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, usage.cache_write_input_tokens),
        ):
            if value is not None:
                found[key] = value
    else:
        found[attr.USAGE_UNKNOWN] = True
    found.update(response.attributes)
    return found


def semconv_part(part: Part) -> dict[str, Any]:
    """A part as the GenAI conventions' JSON object."""
    if part.kind == TOOL_CALL:
        return {
            "type": TOOL_CALL,
            "id": part.call_id,
            "name": part.name,
            "arguments": decode_arguments(part.content),
        }
    if part.kind == TOOL_RESULT:
        return {"type": TOOL_RESULT, "id": part.call_id, "response": part.content}
    built: dict[str, Any] = {"type": part.kind}
    if part.content is not None or part.kind == TEXT:
        built["content"] = part.content
    if part.call_id is not None:
        built["id"] = part.call_id  # item references name the item they point at
    return built


def semconv_message(message: Message) -> dict[str, Any]:
    """A message as the GenAI conventions' JSON object."""
    built: dict[str, Any] = {
        "role": message.role,
        "parts": [semconv_part(p) for p in message.parts],
    }
    if message.finish_reason is not None:
        built["finish_reason"] = message.finish_reason
    return built


def _message_inputs(message: Message) -> tuple[tuple[TextField, ...], tuple[str, ...]]:
    """A request message's dataflow fields and the ids of the tool calls it answers."""
    result_ids = tuple(
        part.call_id
        for part in message.parts
        if part.kind == TOOL_RESULT and isinstance(part.call_id, str)
    )
    return tuple(_fields(message.parts, message.role)), result_ids


def call_outputs(response: CallResponse) -> CallOutputs:
    """The dataflow record of what a response produced."""
    fields: list[TextField] = []
    call_ids: list[str] = []
    for message in response.messages:
        for part in message.parts:
            if part.kind == TOOL_CALL and isinstance(part.call_id, str):
                call_ids.append(part.call_id)
        fields.extend(_fields(message.parts, message.role))
    response_id = response.response_id
    return CallOutputs(
        fields=tuple(fields),
        response_id=response_id if isinstance(response_id, str) and response_id else None,
        tool_call_ids=tuple(call_ids),
        item_ids=response.item_ids,
    )


def _fields(parts: Iterable[Part], role: Any) -> Iterator[TextField]:
    role = role if isinstance(role, str) else None
    for part in parts:
        path = part.path
        if path is None:
            continue
        value = part.content
        if part.kind == TEXT:
            if isinstance(value, str) and value:
                yield TextField(path, value, role)
        elif part.kind == TOOL_CALL:
            if value is not None and value != "":
                yield TextField(path, as_text(value), role)
        elif part.kind == TOOL_RESULT:
            yield from _result_fields(path, value)


def _result_fields(path: str, value: Any) -> Iterator[TextField]:
    if isinstance(value, str):
        if value:
            yield TextField(path, value, "tool")
    elif isinstance(value, list):
        for k, piece in enumerate(value):
            piece_text = piece if isinstance(piece, str) else field_of(piece, "text")
            if isinstance(piece_text, str) and piece_text:
                yield TextField(f"{path}[{k}].text", piece_text, "tool")
    elif value is not None and not (isinstance(value, Mapping) and not value):
        yield TextField(path, as_text(value), "tool")
