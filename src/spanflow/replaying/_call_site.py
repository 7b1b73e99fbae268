"""The instrumented LLM call a request belongs to: the LLM span current while it is sent."""

from __future__ import annotations

from opentelemetry import trace

from spanflow import attributes


class CallSite:
    """The instrumented LLM call whose span is current while a request is sent."""

    __slots__ = ("operation", "provider", "span")

    def __init__(self, span: trace.Span, provider: str, operation: str) -> None:
        self.span = span
        self.provider = provider
        self.operation = operation

    @property
    def span_id(self) -> str:
        """The span id as 16 hex chars."""
        return format(self.span.get_span_context().span_id, "016x")


def current_call() -> CallSite | None:
    """The instrumented LLM call being sent in this context, if any."""
    span = trace.get_current_span()
    span_attributes = getattr(span, "attributes", None)
    if (
        not span_attributes
        or span_attributes.get(attributes.SPAN_KIND) != attributes.SpanKindValue.LLM
    ):
        return None
    provider = span_attributes.get(attributes.GEN_AI_PROVIDER_NAME)
    operation = span_attributes.get(attributes.GEN_AI_OPERATION_NAME)
    return CallSite(span, str(provider or ""), str(operation or ""))
