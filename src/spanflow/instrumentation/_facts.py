"""What an API adapter reads from a request and a response, and the adapter protocol itself."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from opentelemetry.util.types import AttributeValue

from spanflow.dataflow.records import CallInputs, CallOutputs
from spanflow.instrumentation._description import CallRequest, CallResponse

Attributes = dict[str, AttributeValue]


@dataclass(frozen=True)
class ReadOptions:
    """What to read: message contents (capture switch) and dataflow records (dataflow switch)."""

    capture_content: bool
    dataflow: bool


@dataclass(frozen=True)
class RequestFacts:
    """A request as the span sees it: its name, the attributes it starts with, its inputs."""

    span_name: str
    attributes: Attributes = field(default_factory=dict)
    inputs: CallInputs | None = None


@dataclass(frozen=True)
class ResponseFacts:
    """A response as the span sees it: the attributes it ends with, and what it produced."""

    attributes: Attributes = field(default_factory=dict)
    outputs: CallOutputs | None = None


class StreamAccumulator(Protocol):
    """Reassembles a streamed response from its events, cheaply per event."""

    def add(self, event: Any) -> None:
        """Take one event of the stream."""

    def response(self) -> Any:
        """The response the events so far make, in the non-streamed response's shape."""


class ApiAdapter(Protocol):
    """Describes one API's requests and responses (chat completions, messages, ...) once.

    ``with_messages`` is False when neither content capture nor dataflow needs the messages,
    so the adapter may skip walking them.
    """

    provider: str
    operation: str

    def read_request(self, body: Any, with_messages: bool) -> CallRequest:
        """The neutral description of a request (its body, or the call's arguments)."""

    def read_response(self, response: Any, with_messages: bool) -> CallResponse:
        """The neutral description of a response (a model, decoded JSON, or reassembled)."""

    def new_accumulator(self) -> StreamAccumulator:
        """A fresh accumulator for a streamed response."""


def field_of(value: Any, name: str, default: Any = None) -> Any:
    """``value[name]`` of a mapping or ``value.name`` of an object; ``default`` when absent."""
    kind = type(value)
    mapping = _IS_MAPPING.get(kind)
    if mapping is None:
        mapping = _is_mapping(value, kind)
    if mapping:
        return value.get(name, default)
    return getattr(value, name, default)


Reader = Callable[[Any, str, Any], Any]
"""``read(value, name, default)``: ``field_of``, or what it comes to for one type."""

# Stream accumulators read several fields of every chunk: an ABC ``isinstance`` per read was most
# of their cost, so the answer is kept per type (a few response and chunk classes).
_IS_MAPPING: dict[type, bool] = {dict: True, type(None): False, str: False}
# What ``field_of`` comes to per type, for a loop over many chunks to pick once per object
# (``READERS.get(type(value), field_of)``) and then read at C speed: ``getattr`` for a type known
# not to be a mapping, ``dict.get`` for a plain dict; ``field_of`` itself for a type not seen yet.
READERS: dict[type, Reader] = {dict: dict.get, type(None): getattr}
_MAX_KNOWN_TYPES = 256


def _is_mapping(value: Any, kind: type) -> bool:
    mapping = isinstance(value, Mapping)
    # A proxy (``value.__class__`` not its type) answers for what it wraps: never kept.
    if value.__class__ is kind and len(_IS_MAPPING) < _MAX_KNOWN_TYPES:
        _IS_MAPPING[kind] = mapping
        if not mapping:
            READERS[kind] = getattr
    return mapping


def span_name(operation: str, model: Any) -> str:
    """``"{operation} {model}"`` per the GenAI conventions, the operation alone without a model."""
    return f"{operation} {model}" if isinstance(model, str) and model else operation
