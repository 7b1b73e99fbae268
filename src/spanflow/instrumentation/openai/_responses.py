"""OpenAI Responses API: the neutral description of requests and responses, stream reassembly."""

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
    "max_output_tokens": attr.GEN_AI_REQUEST_MAX_TOKENS,
}
_TEXT_PART_TYPES = frozenset({"input_text", "output_text", "text"})


_DESCRIBED: BoundedMemo[Message] = BoundedMemo()  # re-sent input items: _message_cache.py


class ResponsesAdapter:
    """``POST /responses`` (``create``, ``parse``, ``stream``)."""

    provider = "openai"
    operation = "chat"

    def read_request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest:
        found: Attributes = request_parameters(body, _PARAMETERS)
        conversation = body.get("conversation")
        conversation = (
            field_of(conversation, "id") if not isinstance(conversation, str) else conversation
        )
        if isinstance(conversation, str):
            found[attr.GEN_AI_CONVERSATION_ID] = conversation
        text_format = field_of(field_of(body.get("text"), "format"), "type")
        if isinstance(text_format, str):
            found[attr.GEN_AI_OUTPUT_TYPE] = "text" if text_format == "text" else "json"
        previous = body.get("previous_response_id")
        if not with_messages:
            return CallRequest(body.get("model"), found, previous_response_id=previous)
        instructions = body.get("instructions")
        system = (
            (d.text(instructions, "instructions"),)
            if isinstance(instructions, str) and instructions
            else ()
        )
        raw_input = body.get("input")
        if isinstance(raw_input, str):
            messages: tuple[Message, ...] = (Message("user", (d.text(raw_input, "input"),)),)
            item_ids: tuple[str, ...] = ()
        else:
            items = raw_input if isinstance(raw_input, list) else []
            messages = describe_messages(_DESCRIBED, items, _input_message)
            ids = (field_of(item, "id") for item in items)
            item_ids = tuple(i for i in ids if isinstance(i, str))
        return CallRequest(
            body.get("model"),
            found,
            system=system,
            messages=messages,
            tool_definitions=tool_definitions(body.get("tools")),
            previous_response_id=previous,
            response_item_ids=item_ids,
        )

    def read_response(self, response: Any, with_messages: bool) -> CallResponse:
        items = field_of(response, "output") or []
        reason = _finish_reason(response, items)
        usage = field_of(response, "usage")
        messages: tuple[Message, ...] = ()
        if with_messages:
            parts = [
                part for k, item in enumerate(items) for part in _item_parts(item, "output", k)
            ]
            messages = (Message("assistant", tuple(parts), reason),)
        ids = (field_of(item, "id") for item in items)
        return CallResponse(
            response_id=field_of(response, "id"),
            model=field_of(response, "model"),
            finish_reasons=(reason,) if reason is not None else (),
            usage=None
            if usage is None
            else d.TokenUsage(
                input_tokens=d.int_or_none(field_of(usage, "input_tokens")),
                output_tokens=d.int_or_none(field_of(usage, "output_tokens")),
                cache_read_input_tokens=d.int_or_none(
                    field_of(field_of(usage, "input_tokens_details"), "cached_tokens")
                ),
            ),
            messages=messages,
            item_ids=tuple(i for i in ids if isinstance(i, str)),
        )

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


def _item_parts(item: Any, root: str, k: int) -> list[Part]:
    kind = field_of(item, "type")
    path = f"{root}[{k}]"
    if kind == "function_call":
        return [
            d.tool_call(
                field_of(item, "call_id"),
                field_of(item, "name"),
                field_of(item, "arguments"),
                f"{path}.arguments",
            )
        ]
    if kind == "function_call_output":
        return [
            d.tool_result(field_of(item, "call_id"), field_of(item, "output"), f"{path}.output")
        ]
    if kind == "item_reference":
        return [d.Part("item_reference", call_id=field_of(item, "id"))]
    # Text of other item kinds (reasoning summaries...) is shown but is not a dataflow field.
    text_path = f"{path}.content" if kind in (None, "message") else None
    body = field_of(item, "content")
    if isinstance(body, str):
        return [d.text(body, text_path)]
    parts: list[Part] = []
    for j, part in enumerate(body if isinstance(body, list) else ()):
        part_type = field_of(part, "type")
        if part_type in _TEXT_PART_TYPES:
            parts.append(d.text(field_of(part, "text"), text_path and f"{text_path}[{j}].text"))
        elif part_type == "refusal":
            parts.append(d.other("refusal", field_of(part, "refusal")))
        elif isinstance(part_type, str):
            parts.append(d.other(part_type))
    if not parts and isinstance(kind, str) and kind != "message":
        parts.append(d.other(kind))
    return parts


def _input_message(item: Any, i: int) -> Message:
    kind = field_of(item, "type")
    if kind == "function_call":
        role = "assistant"
    elif kind == "function_call_output":
        role = "tool"
    else:
        role = field_of(item, "role") or "user"
    return Message(role, tuple(_item_parts(item, "input", i)))


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
        kind = READERS.get(type(event), field_of)(event, "type", None)
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
