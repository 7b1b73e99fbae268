"""What one decoded request carries out of the decoders: records, rejections and the limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from spanflow.query.records import SpanRecord

MAX_ITEMS_PER_SPAN = 10_000
"""A span with more attributes, events or links than this is rejected on its own.

A span is stored as one row; an unbounded one (a million attributes) would stall the writer
for every other client. Legitimate LLM spans carry tens to hundreds of attributes.
"""

_MAX_REASONS_REPORTED = 5


class OtlpDecodeError(ValueError):
    """The request body is not a decodable OTLP trace export request (answered with 400)."""


@dataclass
class DecodedSpans:
    """The spans of one export request: the valid ones decoded, the invalid ones counted."""

    records: list[SpanRecord] = field(default_factory=list)
    rejected_spans: int = 0
    reasons: list[str] = field(default_factory=list)

    def reject(self, reason: str) -> None:
        """Count one invalid span, remembering the first few reasons for the response."""
        self.rejected_spans += 1
        if len(self.reasons) < _MAX_REASONS_REPORTED:
            self.reasons.append(reason)

    @property
    def error_message(self) -> str:
        """The ``partial_success.error_message`` for this request ("" when nothing was rejected)."""
        if not self.rejected_spans:
            return ""
        more = self.rejected_spans - len(self.reasons)
        suffix = f"; and {more} more" if more > 0 else ""
        return f"{self.rejected_spans} span(s) rejected: " + "; ".join(self.reasons) + suffix


class InvalidSpanError(ValueError):
    """One span breaks a rule (ids, timestamps, size); the rest of the request is still stored."""


def check_span_fields(
    trace_id: str, span_id: str, parent_span_id: str | None, start_ns: int, end_ns: int
) -> None:
    """Raise ``InvalidSpanError`` unless ids and timestamps describe a real, finished span."""
    if len(trace_id) != 32 or trace_id == "0" * 32:
        raise InvalidSpanError(f"trace_id must be 16 non-zero bytes, got {trace_id!r}")
    if len(span_id) != 16 or span_id == "0" * 16:
        raise InvalidSpanError(f"span_id must be 8 non-zero bytes, got {span_id!r}")
    if parent_span_id is not None and len(parent_span_id) != 16:
        raise InvalidSpanError(f"parent_span_id must be empty or 8 bytes, got {parent_span_id!r}")
    if start_ns <= 0:
        raise InvalidSpanError(f"span {span_id}: missing start_time_unix_nano")
    if end_ns <= 0:
        raise InvalidSpanError(f"span {span_id}: missing end_time_unix_nano")
    if end_ns < start_ns:
        raise InvalidSpanError(f"span {span_id}: end_time_unix_nano is before start_time_unix_nano")


def check_item_count(span_id: str, what: str, count: int) -> None:
    """Raise ``InvalidSpanError`` when a span carries more ``what`` than ``MAX_ITEMS_PER_SPAN``."""
    if count > MAX_ITEMS_PER_SPAN:
        raise InvalidSpanError(
            f"span {span_id}: {count} {what} exceeds the limit of {MAX_ITEMS_PER_SPAN}"
        )
