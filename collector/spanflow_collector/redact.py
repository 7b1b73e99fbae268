"""Secret redaction at ingest: every span is cleaned once, before anything is stored.

The spanflow SDK redacts what it records before export; spans from any other OpenTelemetry SDK
(a Go service, OpenLLMetry, an HTTP instrumentation recording an ``Authorization`` header) are
redacted here: span name, attributes, event names and attributes (``exception.message``,
``exception.stacktrace``), status message, instrumentation scope name and version, link
attributes and resource attributes. The store calls :func:`redact_spans` on each batch it
writes, so the OTLP receivers and the SDK's embedded exporter go through the same code. A
span carrying ``spanflow.redaction.off = true`` (its run or process turned redaction off on
purpose) is stored as sent, but for its resource attributes, which describe the whole process.
Rules and markers: ``spanflow.redaction`` and docs/secrets.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from spanflow import attributes as attr
from spanflow.query.records import (
    AttributeValue,
    EventRecord,
    LinkRecord,
    RunRecord,
    SpanRecord,
)
from spanflow.redaction import DEFAULT_REDACTOR, Redactor

_redactor: Redactor = DEFAULT_REDACTOR


def set_extra_patterns(patterns: Iterable[str | re.Pattern[str]]) -> None:
    """Redact matches of ``patterns`` too (``spanflow collector --redact-pattern``).

    Raises:
        ValueError: a pattern is not a usable regular expression.
    """
    global _redactor
    patterns = tuple(patterns)
    _redactor = Redactor(patterns) if patterns else DEFAULT_REDACTOR


def extra_patterns() -> tuple[re.Pattern[str], ...]:
    """The patterns ``set_extra_patterns`` added (handed to decode worker processes)."""
    return _redactor.extra_patterns


def redact_attributes(attributes: Mapping[str, AttributeValue]) -> Mapping[str, AttributeValue]:
    """An attribute mapping with its secrets replaced; the same object when it held none."""
    return _redactor.attributes(attributes)


def redact_spans(spans: Sequence[SpanRecord]) -> Sequence[SpanRecord]:
    """The batch with every span's secrets replaced; spans without any are passed through."""
    redactor = _redactor
    resources: dict[int, Mapping[str, AttributeValue]] = {}  # spans of a request share one
    cleaned: list[SpanRecord] | None = None
    for index, span in enumerate(spans):
        clean = _redact_span(span, redactor, resources)
        if clean is not span and cleaned is None:
            cleaned = list(spans[:index])
        if cleaned is not None:
            cleaned.append(clean)
    return spans if cleaned is None else cleaned


def _redact_span(
    span: SpanRecord, redactor: Redactor, resources: dict[int, Mapping[str, AttributeValue]]
) -> SpanRecord:
    # The resource describes the whole process, not the run that opted out: always redacted.
    resource = resources.get(id(span.resource_attributes))
    if resource is None:
        resource = redactor.attributes(span.resource_attributes)
        resources[id(span.resource_attributes)] = resource
    if span.attributes.get(attr.REDACTION_OFF) is True:
        if resource is span.resource_attributes:
            return span
        return replace(span, resource_attributes=resource)
    # Field by field, without building a mapping of changes: this runs for every span ingested.
    name = redactor.text(span.name)
    attributes = redactor.attributes(span.attributes)
    status_message = redactor.text(span.status_message)
    scope_name = redactor.text(span.scope_name)
    scope_version = redactor.text(span.scope_version)
    events = span.events
    if events:
        cleaned_events = tuple(_redact_event(event, redactor) for event in events)
        events = cleaned_events if _changed(cleaned_events, events) else events
    links = span.links
    if links:
        cleaned_links = tuple(_redact_link(link, redactor) for link in links)
        links = cleaned_links if _changed(cleaned_links, links) else links
    if (
        name is span.name
        and attributes is span.attributes
        and status_message is span.status_message
        and scope_name is span.scope_name
        and scope_version is span.scope_version
        and resource is span.resource_attributes
        and events is span.events
        and links is span.links
    ):
        return span
    return replace(
        span,
        name=name,
        attributes=attributes,
        status_message=status_message,
        scope_name=scope_name,
        scope_version=scope_version,
        resource_attributes=resource,
        events=events,
        links=links,
    )


def redact_run_records(records: Sequence[RunRecord]) -> Sequence[RunRecord]:
    """Run records with their secrets replaced: fields, keyed values, tags, metric names.

    A record carrying ``spanflow.redaction.off = true`` (its run turned redaction off) is
    stored as sent.
    """
    redactor = _redactor
    cleaned: list[RunRecord] = []
    for record in records:
        if record.fields.get(attr.REDACTION_OFF) is True:
            cleaned.append(record)
            continue
        points = record.points
        if any(redactor.text(point.name) is not point.name for point in points):
            points = tuple(replace(point, name=redactor.text(point.name)) for point in points)
        cleaned.append(
            replace(
                record,
                fields=redactor.attributes(record.fields),
                values=redactor.attributes(record.values),
                tags=tuple(redactor.text(tag) for tag in record.tags),
                points=points,
            )
        )
    return cleaned


def _changed(new: Sequence[object], old: Sequence[object]) -> bool:
    return any(a is not b for a, b in zip(new, old, strict=True))


def _redact_event(event: EventRecord, redactor: Redactor) -> EventRecord:
    name = redactor.text(event.name)
    attributes = redactor.attributes(event.attributes)
    if name is event.name and attributes is event.attributes:
        return event
    return EventRecord(name, event.time_unix_nano, attributes)


def _redact_link(link: LinkRecord, redactor: Redactor) -> LinkRecord:
    attributes = redactor.attributes(link.attributes)
    if attributes is link.attributes:
        return link
    return LinkRecord(link.trace_id, link.span_id, attributes)
