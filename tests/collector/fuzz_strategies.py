"""Hypothesis strategies for hostile OTLP export requests, as a plain model with two encoders.

A drawn ``RequestModel`` is a valid-ish structure (resource, scope, spans with attributes,
events and links) full of hostile values: integers far outside int64, NaN and infinities, lone
surrogates, NUL and control characters, values nested up to 70 levels, giant strings. The same
model is sent as OTLP/JSON (which can carry every one of those values) or as protobuf (which
cannot carry out-of-range integers or invalid UTF-8: those are wrapped into range / replaced,
and malformed wire bytes come from ``mutate``).
"""

from __future__ import annotations

import base64
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from spanflow import attributes as attr

BASE_TIME_NS = 1_700_000_000_000_000_000
RUN_POOL = ("fuzz-run-1", "fuzz-run-2", "fuzz-run-3")
_SPANFLOW_KEYS = (
    attr.RUN_ID,
    attr.RUN_NAME,
    attr.PROJECT,
    attr.RUN_TAGS,
    attr.RUN_PARENT_ID,
    attr.RUN_SEGMENT,
    attr.RUN_STATUS,
    attr.RUN_HEARTBEAT_INTERVAL_S,
    attr.SPAN_KIND,
    attr.GEN_AI_OPERATION_NAME,
    attr.GEN_AI_USAGE_INPUT_TOKENS,
    attr.GEN_AI_USAGE_OUTPUT_TOKENS,
    attr.ERROR_TYPE,
    attr.ERROR_MESSAGE,
    f"{attr.PARAM_PREFIX}lr",
    f"{attr.METRIC_PREFIX}accuracy",
    f"{attr.OUTPUT_PREFIX}answer",
    f"{attr.RUN_ATTRIBUTE_PREFIX}owner",
)
_METRIC_KEYS = (attr.EVENT_METRIC_NAME, attr.EVENT_METRIC_VALUE, attr.EVENT_METRIC_STEP)
_ids = itertools.count(1)

hostile_ints = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, 2**53 + 1, 2**63 - 5, 2**63 - 1, 2**63, 2**64 - 1, -(2**63)]),
)
hostile_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e30, -0.0, 5e-324]),
)
hostile_text = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=24),  # surrogates and controls too
    st.sampled_from(["", "\x00", "a\x00b", "\ud800", "x\udfffy", "\x1b[2J", "\u202e", "🙂"]),
)
# Giant strings (well within the body cap) go into one attribute of some requests only: drawn
# as often as other text, they would make every example megabytes long.
giant_text = st.sampled_from(["", "", "", "", "", "", "", "", "x" * 5_000, "y\x00" * 150_000])
scalars = st.one_of(
    hostile_text, st.booleans(), hostile_ints, hostile_floats, st.binary(max_size=16)
)
plain_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(hostile_text, children, max_size=4)
    ),
    max_leaves=8,
)


def nested(depth: int) -> Any:
    """A string inside ``depth`` arrays (alternating with one-key kvlists)."""
    value: Any = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


any_values = st.one_of(plain_values, st.integers(0, 70).map(nested))
attribute_keys = st.one_of(st.sampled_from(_SPANFLOW_KEYS), hostile_text)
attribute_values_for = {
    attr.RUN_ID: st.one_of(st.sampled_from(RUN_POOL), hostile_text),
    attr.SPAN_KIND: st.sampled_from(
        [attr.SpanKindValue.RUN, attr.SpanKindValue.RUN_START, attr.SpanKindValue.LLM, "?"]
    ),
}


@st.composite
def attribute_lists(draw: st.DrawFn, keys: st.SearchStrategy[str] = attribute_keys) -> list[Any]:
    """``[(key, value), ...]``: spanflow keys with plausible or hostile values, any key."""
    pairs = []
    for key in draw(st.lists(keys, max_size=6)):
        strategy = attribute_values_for.get(key, any_values)
        pairs.append((key, draw(st.one_of(strategy, any_values))))
    return pairs


@dataclass
class SpanModel:
    """One span before encoding; ids are assigned by ``RequestModel.assign_ids``."""

    id_flaw: str  # "" or "zero", "short", "nonhex": how the span id is broken
    start_ns: int
    end_ns: int
    kind: int
    status_code: int
    name: str
    status_message: str
    attributes: list[Any]
    events: list[tuple[str, int, list[Any]]]
    links: list[tuple[str, list[Any]]]  # (flaw, attributes)
    parent_is_previous: bool
    span_id: str = ""


@dataclass
class RequestModel:
    """A whole export request (one resource, one scope) and how to write its integers."""

    spans: list[SpanModel]
    resource: list[Any]
    scope_name: str
    ints_as_strings: bool
    trace_flaw: str
    giant: str
    trace_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def assign_ids(self) -> None:
        """Fresh ids (unique within the session), so stored spans count per request."""
        self.trace_id = f"{0xFA << 120 | next(_ids):032x}"
        for span in self.spans:
            span.span_id = f"{0x7A << 56 | next(_ids):016x}"


@st.composite
def times(draw: st.DrawFn) -> int:
    """Mostly real nanosecond timestamps, sometimes hostile ones."""
    if draw(st.integers(0, 3)):
        return BASE_TIME_NS + draw(st.integers(0, 10**12))
    return draw(hostile_ints)


@st.composite
def metric_events(draw: st.DrawFn) -> tuple[str, int, list[Any]]:
    """A ``spanflow.metric`` event with hostile name, value and step, or any other event."""
    if draw(st.booleans()):
        values = draw(st.tuples(hostile_text, st.one_of(hostile_floats, any_values), hostile_ints))
        return attr.EVENT_METRIC, draw(times()), list(zip(_METRIC_KEYS, values, strict=True))
    return draw(hostile_text), draw(times()), draw(attribute_lists())


@st.composite
def span_models(draw: st.DrawFn) -> SpanModel:
    """One span with hostile values anywhere."""
    start = draw(times())
    end = start + draw(st.integers(0, 10**9)) if draw(st.integers(0, 3)) else draw(times())
    return SpanModel(
        id_flaw=draw(st.sampled_from(["", "", "", "", "", "", "zero", "short", "nonhex"])),
        start_ns=start,
        end_ns=end,
        kind=draw(st.one_of(st.integers(0, 5), hostile_ints)),
        status_code=draw(st.one_of(st.integers(0, 2), hostile_ints)),
        name=draw(hostile_text),
        status_message=draw(hostile_text),
        attributes=draw(attribute_lists()),
        events=draw(st.lists(metric_events(), max_size=3)),
        links=draw(
            st.lists(st.tuples(st.sampled_from(["", "", "short"]), attribute_lists()), max_size=2)
        ),
        parent_is_previous=draw(st.booleans()),
    )


requests_models = st.builds(
    RequestModel,
    spans=st.lists(span_models(), min_size=1, max_size=6),
    resource=attribute_lists(),
    scope_name=hostile_text,
    ints_as_strings=st.booleans(),
    trace_flaw=st.sampled_from(["", "", "", "", "", "", "", "zero"]),
    giant=giant_text,
)


# --- encoders ---------------------------------------------------------------------------------
def _with_giant(model: RequestModel, span: SpanModel) -> list[Any]:
    if model.giant and span is model.spans[0]:
        return [*span.attributes, ("giant", model.giant)]
    return span.attributes


def _flawed_hex(hex_id: str, flaw: str) -> str:
    return {"": hex_id, "zero": "0" * len(hex_id), "short": hex_id[:6], "nonhex": "zz" * 8}[flaw]


def _json_int(value: int, as_string: bool) -> Any:
    return str(value) if as_string else value


def json_any_value(value: Any, ints_as_strings: bool) -> dict[str, Any]:
    """An OTLP/JSON AnyValue: floats that JSON lacks as their proto3 JSON names."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": _json_int(value, ints_as_strings)}
    if isinstance(value, float):
        if math.isnan(value):
            return {"doubleValue": "NaN"}
        if math.isinf(value):
            return {"doubleValue": "Infinity" if value > 0 else "-Infinity"}
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, list):
        return {"arrayValue": {"values": [json_any_value(v, ints_as_strings) for v in value]}}
    return {
        "kvlistValue": {
            "values": [
                {"key": k, "value": json_any_value(v, ints_as_strings)} for k, v in value.items()
            ]
        }
    }


def _json_attributes(pairs: list[Any], ints_as_strings: bool) -> list[dict[str, Any]]:
    return [{"key": k, "value": json_any_value(v, ints_as_strings)} for k, v in pairs]


def to_json(model: RequestModel) -> bytes:
    """The request as OTLP/JSON (surrogates escaped as ``\\udXXX``, as JSON allows)."""
    as_str = model.ints_as_strings
    trace_id = _flawed_hex(model.trace_id, model.trace_flaw)
    spans = []
    previous = ""
    for span in model.spans:
        document: dict[str, Any] = {
            "traceId": trace_id,
            "spanId": _flawed_hex(span.span_id, span.id_flaw),
            "name": span.name,
            "kind": _json_int(span.kind, as_str),
            "startTimeUnixNano": _json_int(span.start_ns, as_str),
            "endTimeUnixNano": _json_int(span.end_ns, as_str),
            "attributes": _json_attributes(_with_giant(model, span), as_str),
            "events": [
                {
                    "name": name,
                    "timeUnixNano": _json_int(time_ns, as_str),
                    "attributes": _json_attributes(pairs, as_str),
                }
                for name, time_ns, pairs in span.events
            ],
            "links": [
                {
                    "traceId": trace_id,
                    "spanId": _flawed_hex(previous or span.span_id, flaw),
                    "attributes": _json_attributes(pairs, as_str),
                }
                for flaw, pairs in span.links
            ],
            "status": {"code": _json_int(span.status_code, as_str), "message": span.status_message},
        }
        if span.parent_is_previous and previous:
            document["parentSpanId"] = previous
        spans.append(document)
        previous = span.span_id
    request = {
        "resourceSpans": [
            {
                "resource": {"attributes": _json_attributes(model.resource, as_str)},
                "scopeSpans": [{"scope": {"name": model.scope_name}, "spans": spans}],
            }
        ]
    }
    return json.dumps(request).encode()


def _utf8(text: str) -> str:
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _wrap(value: int, bits: int, *, signed: bool) -> int:
    value %= 2**bits
    return value - 2**bits if signed and value >= 2 ** (bits - 1) else value


def _fill_any_value(target: AnyValue, value: Any) -> None:
    # Built top-down with add(): copying a deep message would hit upb's own depth limit.
    while True:
        if isinstance(value, bool):
            target.bool_value = value
        elif isinstance(value, int):
            target.int_value = _wrap(value, 64, signed=True)
        elif isinstance(value, float):
            target.double_value = value
        elif isinstance(value, str):
            target.string_value = _utf8(value)
        elif isinstance(value, bytes):
            target.bytes_value = value
        elif isinstance(value, list):
            if len(value) == 1:  # the deep chains: iterate instead of recursing
                target, value = target.array_value.values.add(), value[0]
                continue
            target.array_value.SetInParent()
            for item in value:
                _fill_any_value(target.array_value.values.add(), item)
        else:
            if len(value) == 1:
                ((key, item),) = value.items()
                entry = target.kvlist_value.values.add()
                entry.key = _utf8(key)
                target, value = entry.value, item
                continue
            target.kvlist_value.SetInParent()
            for key, item in value.items():
                entry = target.kvlist_value.values.add()
                entry.key = _utf8(key)
                _fill_any_value(entry.value, item)
        return


def _fill_attributes(target: Any, pairs: list[Any]) -> None:
    for key, value in pairs:
        entry = target.add()
        entry.key = _utf8(key)
        _fill_any_value(entry.value, value)


def _id_bytes(hex_id: str, flaw: str) -> bytes:
    if flaw == "nonhex":
        return b"\x01"
    return bytes.fromhex(_flawed_hex(hex_id, flaw))


def to_protobuf(model: RequestModel) -> bytes:
    """The request as protobuf: integers wrapped into their field's range, text made UTF-8."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    _fill_attributes(resource_spans.resource.attributes, model.resource)
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = _utf8(model.scope_name)
    trace_id = _id_bytes(model.trace_id, model.trace_flaw)
    previous = b""
    for span in model.spans:
        message = scope_spans.spans.add()
        message.trace_id = trace_id
        message.span_id = _id_bytes(span.span_id, span.id_flaw)
        if span.parent_is_previous and previous:
            message.parent_span_id = previous
        message.name = _utf8(span.name)
        message.kind = _wrap(span.kind, 32, signed=True)  # type: ignore[assignment]
        message.start_time_unix_nano = _wrap(span.start_ns, 64, signed=False)
        message.end_time_unix_nano = _wrap(span.end_ns, 64, signed=False)
        _fill_attributes(message.attributes, _with_giant(model, span))
        for name, time_ns, pairs in span.events:
            event = message.events.add()
            event.name = _utf8(name)
            event.time_unix_nano = _wrap(time_ns, 64, signed=False)
            _fill_attributes(event.attributes, pairs)
        for flaw, pairs in span.links:
            link = message.links.add()
            link.trace_id = trace_id
            link.span_id = _id_bytes(previous.hex() or span.span_id, flaw)
            _fill_attributes(link.attributes, pairs)
        message.status.code = _wrap(span.status_code, 32, signed=True)  # type: ignore[assignment]
        message.status.message = _utf8(span.status_message)
        previous = bytes.fromhex(span.span_id)
    return request.SerializeToString()


@st.composite
def mutate(draw: st.DrawFn, body: bytes) -> bytes:
    """``body`` with a few bytes flipped, cut or inserted: malformed wire data.

    What is drawn does not depend on ``body`` (whose ids differ between runs of one example),
    so Hypothesis can replay and shrink it.
    """
    data = bytearray(body)
    edits = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["flip", "cut", "insert"]),
                st.floats(0, 1),
                st.binary(min_size=1, max_size=8),
            ),
            min_size=1,
            max_size=4,
        )
    )
    for action, where, payload in edits:
        position = min(int(where * len(data)), max(len(data) - 1, 0))
        if action == "flip" and data:
            data[position] ^= payload[0] or 1
        elif action == "cut":
            del data[position:]
        else:
            data[position:position] = payload
    return bytes(data)
