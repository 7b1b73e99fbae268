"""Plain, frozen records that everything after the OTLP decoder works with.

Receivers decode OTLP (protobuf or JSON) into ``SpanRecord``s at the edge; the SDK's embedded
exporter builds the same records from ``ReadableSpan``s; stores only ever see these.
Ids are lowercase hex strings (32 chars for trace ids, 16 for span ids), as in OTLP/JSON.
``spanflow.testing`` captures the same records, so tests read what the index stores.

The convenience properties (``run_id``, ``spanflow_kind``, ``status``, ...) are computed on
access, so building a record on the ingest path costs nothing more for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from spanflow import attributes as attr

AttributeValue = (
    str
    | bool
    | int
    | float
    | tuple[str, ...]
    | tuple[bool, ...]
    | tuple[int, ...]
    | tuple[float, ...]
)
"""OTLP AnyValue narrowed to what spans carry; kvlists and bytes arrive as JSON/hex strings."""

Attributes = Mapping[str, AttributeValue]

INT64_MAX = 2**63 - 1
"""Largest integer the stores hold (BIGINT): later timestamps are clamped to it at ingest."""
MAX_TOKENS_PER_SPAN = 10**9
"""A token count above this (a billion, far beyond any context window) is not a real count."""


class StatusCode:
    """OTLP ``Status.code`` values."""

    UNSET = 0
    OK = 1
    ERROR = 2


STATUS_NAMES = ("UNSET", "OK", "ERROR")
"""Status names by OTLP ``Status.code``, as OpenTelemetry's ``StatusCode`` enum names them."""


@dataclass(frozen=True)
class EventRecord:
    """A span event (metric points, exceptions, GenAI events)."""

    name: str
    time_unix_nano: int
    attributes: Attributes = field(default_factory=dict)

    @property
    def time_ns(self) -> int:
        """``time_unix_nano``: when the event happened (ns since the Unix epoch)."""
        return self.time_unix_nano


@dataclass(frozen=True)
class LinkRecord:
    """A span link from the span holding it to ``trace_id``/``span_id``."""

    trace_id: str
    span_id: str
    attributes: Attributes = field(default_factory=dict)


@dataclass(frozen=True)
class SpanRecord:
    """One finished span, decoded, with its resource and instrumentation scope."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: int  # OTLP SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, ...
    start_time_unix_nano: int
    end_time_unix_nano: int
    attributes: Attributes = field(default_factory=dict)
    events: tuple[EventRecord, ...] = ()
    links: tuple[LinkRecord, ...] = ()
    status_code: int = StatusCode.UNSET
    status_message: str = ""
    resource_attributes: Attributes = field(default_factory=dict)
    scope_name: str = ""
    scope_version: str = ""

    @property
    def run_id(self) -> str | None:
        """The ``spanflow.run.id`` attribute: the run this span belongs to (None without)."""
        value = self.attributes.get(attr.RUN_ID)
        return value if isinstance(value, str) else None

    @property
    def spanflow_kind(self) -> str | None:
        """The ``spanflow.span.kind`` attribute (``"run"``, ``"llm"``, ``"step"``, ...), or None
        on spans spanflow did not make; ``kind`` is the OTLP SpanKind number."""
        value = self.attributes.get(attr.SPAN_KIND)
        return value if isinstance(value, str) else None

    @property
    def status(self) -> str:
        """The status name: ``"UNSET"``, ``"OK"`` or ``"ERROR"`` (``status_code`` is the number)."""
        code = self.status_code
        return STATUS_NAMES[code] if 0 <= code < len(STATUS_NAMES) else STATUS_NAMES[0]

    @property
    def start_time_ns(self) -> int:
        """``start_time_unix_nano``: when the span started (ns since the Unix epoch)."""
        return self.start_time_unix_nano

    @property
    def end_time_ns(self) -> int:
        """``end_time_unix_nano``: when the span ended (ns since the Unix epoch)."""
        return self.end_time_unix_nano

    @property
    def duration_ns(self) -> int:
        """How long the span took, in nanoseconds."""
        return self.end_time_unix_nano - self.start_time_unix_nano


@dataclass(frozen=True)
class MetricPointValue:
    """One metric point carried by a ``spanflow.run.metrics`` run record."""

    name: str
    value: float
    step: int | None
    time_unix_nano: int

    @property
    def time_ns(self) -> int:
        """``time_unix_nano``: when the point was logged (ns since the Unix epoch)."""
        return self.time_unix_nano


@dataclass(frozen=True)
class RunRecord:
    """One spanflow run record (an OTLP log record naming a run): made by the SDK, decoded by
    the collector and ``spanflow.testing``, stored by the index.

    ``kind`` is a ``spanflow.attributes.RecordKindValue``; ``fields`` its attributes other than
    the kind, id, run id and segment; ``values`` the keyed payload of params, outputs, inputs
    and attributes records; ``tags`` and ``points`` the payload of tags and metrics records;
    ``content`` an artifact record's bytes (checked against its sha256 and size at decoding).
    ``trace_id``/``span_id`` name the run segment's root span ("" when unknown).
    """

    kind: str
    run_id: str
    record_id: str
    segment: int
    trace_id: str
    span_id: str
    time_unix_nano: int
    fields: Attributes = field(default_factory=dict)
    values: Attributes = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    points: tuple[MetricPointValue, ...] = ()
    content: bytes | None = None

    @property
    def time_ns(self) -> int:
        """``time_unix_nano``: when the record was made (ns since the Unix epoch)."""
        return self.time_unix_nano
