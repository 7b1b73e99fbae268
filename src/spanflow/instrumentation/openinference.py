"""OpenInference compatibility mode: span kinds (and inputs/outputs) that Arize Phoenix shows.

Off by default. ``configure(openinference=True)`` or ``SPANFLOW_OPENINFERENCE=true`` adds, to
the OpenTelemetry GenAI attributes spanflow always writes, ``openinference.span.kind`` on every
span spanflow makes (LLM calls, runs, steps, tools, agents, chains), ``input.value`` /
``output.value`` on tool spans and ``input.value`` (the input messages) on LLM spans. A span
processor stamps these when a span starts, so LLM spans of every provider get them without their
instrumentors knowing; an LLM span's output is only known at its end, when a span can no longer
be changed, so it stays in ``gen_ai.output.messages``. Dataflow
links stay standard span links. See https://arize-ai.github.io/openinference/spec/
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider

from spanflow import attributes
from spanflow._internal import settings
from spanflow.instrumentation import content

__all__ = ["OpenInferenceKindProcessor", "enabled", "set_enabled", "set_input", "set_output"]

_JSON_MIME_TYPE = "application/json"
_TEXT_MIME_TYPE = "text/plain"

_KINDS = {
    attributes.SpanKindValue.LLM: attributes.OpenInferenceSpanKindValue.LLM,
    attributes.SpanKindValue.TOOL: attributes.OpenInferenceSpanKindValue.TOOL,
    attributes.SpanKindValue.AGENT: attributes.OpenInferenceSpanKindValue.AGENT,
    attributes.SpanKindValue.CHAIN: attributes.OpenInferenceSpanKindValue.CHAIN,
    attributes.SpanKindValue.STEP: attributes.OpenInferenceSpanKindValue.CHAIN,
    attributes.SpanKindValue.RUN: attributes.OpenInferenceSpanKindValue.CHAIN,
}

_installed_on: set[int] = set()
_install_lock = threading.Lock()


def enabled() -> bool:
    """Whether OpenInference attributes are written (the ``openinference`` setting)."""
    return settings.current().openinference


def set_enabled(value: bool | None) -> None:
    """Turn the mode on or off (``None``: as the environment says); ``configure`` calls this.

    When on, the span processor joins the global SDK tracer provider (once per provider).
    """
    settings.update("openinference", value)
    if not enabled():
        return
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        return
    with _install_lock:
        if id(provider) in _installed_on:
            return
        _installed_on.add(id(provider))
    provider.add_span_processor(OpenInferenceKindProcessor())


def set_input(span: Any, value: Any) -> None:
    """``input.value`` (and its MIME type) when the mode is on; the caller checked capture."""
    if enabled():
        _set_value(span, attributes.INPUT_VALUE, attributes.INPUT_MIME_TYPE, value)


def set_output(span: Any, value: Any) -> None:
    """``output.value`` (and its MIME type) when the mode is on; the caller checked capture."""
    if enabled():
        _set_value(span, attributes.OUTPUT_VALUE, attributes.OUTPUT_MIME_TYPE, value)


def _set_value(span: Any, value_key: str, mime_key: str, value: Any) -> None:
    if isinstance(value, str):
        text, _ = content.bound_text(value)
        mime_type = _TEXT_MIME_TYPE
    else:
        text, _ = content.bound_json(value)
        mime_type = _JSON_MIME_TYPE
    span.set_attribute(value_key, text)
    span.set_attribute(mime_key, mime_type)


class OpenInferenceKindProcessor(SpanProcessor):
    """Stamps ``openinference.span.kind`` (and LLM input) on spanflow's spans as they start."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if not enabled():
            return
        found = span.attributes or {}
        kind = found.get(attributes.SPAN_KIND)
        if not isinstance(kind, str) or kind not in _KINDS:
            return
        openinference_kind = _KINDS[kind]
        if found.get(attributes.GEN_AI_OPERATION_NAME) == "embeddings":
            openinference_kind = attributes.OpenInferenceSpanKindValue.EMBEDDING
        span.set_attribute(attributes.OPENINFERENCE_SPAN_KIND, openinference_kind)
        messages = found.get(attributes.GEN_AI_INPUT_MESSAGES)
        if isinstance(messages, str):  # already captured (switch on), redacted and bounded
            span.set_attribute(attributes.INPUT_VALUE, messages)
            span.set_attribute(attributes.INPUT_MIME_TYPE, _JSON_MIME_TYPE)

    def on_end(self, span: ReadableSpan) -> None:
        return None
