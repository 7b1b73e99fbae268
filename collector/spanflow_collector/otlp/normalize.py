"""Values the run index cannot hold, made storable at the decoding edge in documented ways.

Both decoders call these while building ``SpanRecord``s, so a hostile or broken value is never
handed to a store (where it would fail the whole batch, and with it other clients' spans). Every
change is listed on the span in ``spanflow.ingest.adjustments``; docs/run-index.md has the rules:

* timestamps beyond the int64 the stores hold are clamped to ``MAX_TIME_NS``;
* span kinds and status codes outside the OTLP enums become 0 (unspecified / unset);
* an ``intValue`` outside int64 (only OTLP/JSON can carry one) drops its attribute;
* NUL becomes U+FFFD everywhere (PostgreSQL text cannot hold it; SQLite then stores the same),
  and so do lone UTF-16 surrogates (``"\\ud800"`` in OTLP/JSON), which no UTF-8 store accepts;
* values nested deeper than ``MAX_VALUE_DEPTH`` are cut there, with ``TRUNCATED_VALUE`` in place;
* the numeric spanflow attributes the index aggregates (token counts, segment, heartbeat
  interval, metric points) are dropped when out of range or not finite.
"""

from __future__ import annotations

import math
import re
from collections.abc import MutableMapping
from typing import Final

from spanflow import attributes as attr
from spanflow.query.records import INT64_MAX, MAX_TOKENS_PER_SPAN, AttributeValue

INT64_MIN: Final = -(2**63)
MAX_TIME_NS: Final = INT64_MAX
"""Latest storable timestamp (2262-04-11): OTLP's fixed64 reaches 2**64 - 1, BIGINT does not."""
MAX_SEGMENT: Final = 2**31 - 1
MAX_HEARTBEAT_INTERVAL_S: Final = 86_400.0
MAX_VALUE_DEPTH: Final = 24
"""Nesting depth (arrays in arrays, kvlists in kvlists) kept; deeper values are cut.

protobuf (upb) refuses messages nested more than 100 levels, and one kvlist level costs three
(AnyValue, KeyValueList, KeyValue): 24 levels keep the deepest attribute within that bound.
"""
TRUNCATED_VALUE: Final = f"[truncated: nested deeper than {MAX_VALUE_DEPTH} levels]"
SPAN_KINDS: Final = range(6)  # OTLP SpanKind 0..5
STATUS_CODES: Final = range(3)  # OTLP Status.code 0..2

_TOKEN_KEYS: Final = (
    attr.GEN_AI_USAGE_INPUT_TOKENS,
    attr.GEN_AI_USAGE_OUTPUT_TOKENS,
    attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
)
_BOUNDED_NUMBERS: Final = (
    *((key, 0, MAX_TOKENS_PER_SPAN) for key in _TOKEN_KEYS),
    (attr.RUN_SEGMENT, 0, MAX_SEGMENT),
    (attr.RUN_HEARTBEAT_INTERVAL_S, 0, MAX_HEARTBEAT_INTERVAL_S),
)
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


class ValueOutOfRangeError(ValueError):
    """An attribute value that cannot be stored faithfully; the attribute is dropped."""


def clean_text(text: str) -> str:
    """``text`` with NUL and lone surrogates replaced by U+FFFD (unchanged when it has none)."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if not text.isascii() and _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    return text


def clamp_time_ns(value: int, what: str, notes: list[str]) -> int:
    """``value`` clamped to ``MAX_TIME_NS`` (zero and negatives are left to the span checks)."""
    if value > MAX_TIME_NS:
        notes.append(f"{what}: {value} clamped to {MAX_TIME_NS}")
        return MAX_TIME_NS
    return value


def enum_value(value: int, allowed: range, what: str, notes: list[str]) -> int:
    """``value`` when it is one of ``allowed``, else 0 (unspecified), noted."""
    if value in allowed:
        return value
    notes.append(f"{what}: unknown value {value} stored as 0")
    return 0


def check_int64(value: int) -> int:
    """``value`` if it fits OTLP's int64, else ``ValueOutOfRangeError``."""
    if INT64_MIN <= value <= INT64_MAX:
        return value
    raise ValueOutOfRangeError(f"integer {value} is outside int64")


def normalize_span_attributes(
    attributes: MutableMapping[str, AttributeValue], notes: list[str]
) -> None:
    """Drop numeric spanflow attributes the index would choke on, noting each in ``notes``."""
    for key, low, high in _BOUNDED_NUMBERS:
        value = attributes.get(key)
        # The common case, a plausible int, costs one lookup and one comparison.
        if value is None or (value.__class__ is int and low <= value <= high):
            continue
        _keep_number(attributes, key, low, high, notes)


def normalize_metric_event(
    attributes: MutableMapping[str, AttributeValue], notes: list[str]
) -> None:
    """A ``spanflow.metric`` event: NaN values and steps outside int64 are dropped."""
    value = attributes.get(attr.EVENT_METRIC_VALUE)
    if isinstance(value, float) and math.isnan(value):
        del attributes[attr.EVENT_METRIC_VALUE]
        notes.append(f"{attr.EVENT_METRIC_VALUE}: NaN dropped (the metric point is not indexed)")
    if attr.EVENT_METRIC_STEP in attributes:
        _keep_number(attributes, attr.EVENT_METRIC_STEP, INT64_MIN, INT64_MAX, notes)


def add_notes(attributes: MutableMapping[str, AttributeValue], notes: list[str]) -> None:
    """Record ``notes`` on the span as ``spanflow.ingest.adjustments`` (nothing when empty)."""
    if notes:
        attributes[attr.INGEST_ADJUSTMENTS] = tuple(notes)


def _keep_number(
    attributes: MutableMapping[str, AttributeValue],
    key: str,
    low: float,
    high: float,
    notes: list[str],
) -> None:
    value = attributes[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return  # not a number: the index ignores it, and it is stored as sent
    if isinstance(value, float) and not math.isfinite(value):
        reason = f"{value} is not finite"
    elif not low <= value <= high:
        reason = f"{value} is outside {low:g}..{high:g}"
    else:
        return
    del attributes[key]
    notes.append(f"{key}: dropped, {reason}")
