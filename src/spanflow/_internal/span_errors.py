"""The one way a user's exception is recorded on a span: runs, steps, LLM calls, tools, agents.

OpenTelemetry's ``record_exception`` (message and stack trace redacted), the semantic
conventions' ``error.type``, and status ERROR — the same three facts in the same form on every
span kind, so the index, the CLI and any OTLP backend read a failure one way.
"""

from __future__ import annotations

from opentelemetry.trace import Span, Status, StatusCode

from spanflow import attributes
from spanflow._internal import redact as redaction

_STATUS_DESCRIPTION_MAX_CHARS = 1024


def record_error(
    span: Span, error: BaseException, *, escaped: bool = False, timestamp: int | None = None
) -> None:
    """Record the user's ``error`` on ``span``: the one format every span kind uses.

    OpenTelemetry's exception event (message and stack trace redacted), the semantic
    conventions' ``error.type`` (the class's qualified name), and status ERROR described as
    ``"<type>: <message>"`` (bounded).
    """
    error_type = type(error).__qualname__
    redaction.record_exception(span, error, escaped=escaped, timestamp=timestamp)
    span.set_attribute(attributes.ERROR_TYPE, error_type)
    description = f"{error_type}: {redaction.error_text(error)}"
    span.set_status(Status(StatusCode.ERROR, description[:_STATUS_DESCRIPTION_MAX_CHARS]))
