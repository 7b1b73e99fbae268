"""Edges the user states: ``link_dataflow(consumer=..., producer=...)``, ``register_output(value)``.

Detection cannot see data that crosses a process boundary without a common run index, or text
that was transformed beyond recognition (translated, summarised by code, embedded).
``link_dataflow`` records such an edge directly; ``register_output`` marks a value as produced by
a span (a retrieval function, a tool that is not a ``@step``) so that later calls reading it are
linked to that span automatically. ``link`` is its former name, kept as a deprecated alias.
"""

from __future__ import annotations

import json
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanContext

from spanflow._internal.guard import report_internal_error
from spanflow._internal.warn import SpanflowDeprecationWarning, warn_once
from spanflow.attributes import LinkHowValue
from spanflow.dataflow.detector import link_attributes
from spanflow.dataflow.records import CallOutputs, TextField
from spanflow.dataflow.scope import call_scope
from spanflow.dataflow.switch import get_detector


def link_dataflow(
    *,
    producer: Any,
    consumer: Any = None,
    input_field: str | None = None,
    output_field: str | None = None,
    score: float = 1.0,
) -> bool:
    """Record that ``consumer`` read what ``producer`` produced, as a dataflow span link.

    Args:
        producer: the producing span, or its ``SpanContext`` (e.g. carried from another
            process).
        consumer: the consuming span; it must still be open (links are added before a span
            ends). Defaults to the current span.
        input_field: where the consumer read the value, e.g. ``messages[1].content``.
        output_field: where the producer wrote it, e.g. ``output``.
        score: confidence in [0, 1].

    Returns:
        True when the link was added; False (with a ``SpanflowWarning``, once per kind of
        misuse) when either side is not usable.
        Never raises.
    """
    return _add_explicit_link(producer, consumer, input_field, output_field, score)


def link(
    *,
    producer: Any,
    consumer: Any = None,
    input_field: str | None = None,
    output_field: str | None = None,
    score: float = 1.0,
) -> bool:
    """Deprecated name of :func:`link_dataflow`: the same arguments, the same result.

    Renamed because ``spanflow.link`` read like OpenTelemetry's ``Link``. It keeps working and
    warns once per process with a ``SpanflowDeprecationWarning`` (a ``SpanflowWarning`` and a
    ``DeprecationWarning``).
    """
    warn_once(
        "link-renamed",
        "spanflow.link is deprecated: call spanflow.link_dataflow (same arguments)",
        stacklevel=2,
        category=SpanflowDeprecationWarning,
    )
    return _add_explicit_link(producer, consumer, input_field, output_field, score)


def _add_explicit_link(
    producer: Any,
    consumer: Any,
    input_field: str | None,
    output_field: str | None,
    score: float,
) -> bool:
    """``link_dataflow``'s work; a misuse warning points at the user's call of either name.

    The misuse warnings are issued outside the internal-error guard, so a program that turns
    warnings into errors gets its ``SpanflowWarning`` raised, not logged as spanflow's failure.
    """
    misuse = ""
    try:
        target = consumer if consumer is not None else trace.get_current_span()
        context = _context_of(producer)
        if context is None or not context.is_valid:
            misuse = "link-producer"
        elif not target.is_recording():
            misuse = "link-consumer"
        else:
            attributes = link_attributes(
                LinkHowValue.EXPLICIT,
                min(1.0, max(0.0, score)),
                (input_field,) if input_field else (),
                output_field or "",
            )
            target.add_link(context, attributes)
            return True
    except Exception:
        report_internal_error("adding an explicit dataflow link")
        return False
    if misuse == "link-producer":
        warn_once(
            misuse,
            f"spanflow.link_dataflow: producer {producer!r} is not a span or span context; no link",
        )
    else:
        warn_once(
            misuse,
            "spanflow.link_dataflow: the consumer span is not recording (ended or no-op); no link",
        )
    return False


def register_output(value: Any, *, producer: Any = None, field: str = "output") -> bool:
    """Mark ``value`` as produced by ``producer`` so later calls reading it link to that span.

    Args:
        value: text, or any JSON-encodable value (structured values are matched field by field).
        producer: the producing span (default: the current span). Its run is the current run.
        field: the output field path recorded on links, e.g. ``documents[0]``.

    Returns:
        True when the value was queued for indexing; False when dataflow is off or the producer
        is not a valid span. Never raises.
    """
    try:
        detector = get_detector()
        span = producer if producer is not None else trace.get_current_span()
        context = _context_of(span)
        if detector is None or context is None or not context.is_valid:
            return False
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        outputs = CallOutputs(fields=(TextField(field, text),))
        scope_span = span if not isinstance(span, SpanContext) else trace.get_current_span()
        detector.register_output(context, call_scope(scope_span), outputs)
        return True
    except Exception:
        report_internal_error("registering an output for dataflow")
        return False


def _context_of(value: Any) -> SpanContext | None:
    if isinstance(value, SpanContext):
        return value
    getter = getattr(value, "get_span_context", None)
    if callable(getter):
        context = getter()
        return context if isinstance(context, SpanContext) else None
    return None
