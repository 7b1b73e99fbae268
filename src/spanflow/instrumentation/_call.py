"""The lifecycle of one traced LLM call's span: start, succeed or fail, end exactly once.

Kept apart from patching: wrappers decide *when*, this module decides *what* the span records.
Every method is safe to call from user-facing code paths: spanflow's own failures are logged
once and swallowed, never raised.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from spanflow import attributes, dataflow
from spanflow._internal import redact as redaction
from spanflow._internal import settings
from spanflow._internal.guard import report_internal_error
from spanflow._internal.parameters import DATAFLOW_OFF
from spanflow._internal.span_errors import record_error
from spanflow.instrumentation._facts import ApiAdapter, ReadOptions, ResponseFacts
from spanflow.instrumentation._render import read_request, read_response

_IN_LLM_CALL = otel_context.create_key("spanflow-inside-llm-call")


def inside_llm_call() -> bool:
    """Whether the current context is already inside a traced LLM call."""
    return bool(otel_context.get_value(_IN_LLM_CALL))


def read_options() -> ReadOptions:
    """The capture and dataflow switches as they stand for a call starting now."""
    chosen = settings.current()
    return ReadOptions(
        capture_content=chosen.capture_content, dataflow=chosen.dataflow != DATAFLOW_OFF
    )


class LLMCall:
    """One LLM client call: its CLIENT span, the dataflow handle, and how it ended."""

    def __init__(
        self,
        tracer: trace.Tracer,
        adapter: ApiAdapter,
        body: Any,
        *,
        stream: bool,
        server_address: str | None = None,
        server_port: int | None = None,
        provider: str | None = None,
    ) -> None:
        """Start the span (not made current) and tell the dataflow detector the call began.

        Raises whatever reading the request raises; callers treat that as an internal failure.
        """
        self.adapter = adapter
        self.options = read_options()
        self.streamed = stream
        # One token, popped by whichever path ends the span first: list.pop is atomic, so ending
        # exactly once needs no lock allocated and taken on every call.
        self._end_token = [True]
        self._ended = False
        self._pending: object | None = None
        self._first_chunk_seen = False
        self._started_s = time.monotonic()
        facts = read_request(adapter, body, self.options)
        start_attributes = {
            attributes.SPAN_KIND: attributes.SpanKindValue.LLM,
            attributes.GEN_AI_OPERATION_NAME: adapter.operation,
            attributes.GEN_AI_PROVIDER_NAME: provider or adapter.provider,
            **facts.attributes,
        }
        if server_address:
            start_attributes[attributes.SERVER_ADDRESS] = server_address
        if server_port:
            start_attributes[attributes.SERVER_PORT] = server_port
        if stream:
            start_attributes[attributes.STREAM] = True
        if not redaction.enabled():
            start_attributes[attributes.REDACTION_OFF] = True
        self.span = tracer.start_span(
            facts.span_name, kind=SpanKind.CLIENT, attributes=start_attributes
        )
        if facts.inputs is not None:
            try:
                self._pending = dataflow.on_call_start(self.span, facts.inputs)
            except Exception:
                report_internal_error("dataflow at an LLM call's start", self.span)

    def current(self) -> AbstractContextManager[None]:
        """Make the span current while the client sends the request (HTTP spans nest under it).

        Also marks the context as inside an LLM call, so a traced client that another traced
        layer calls (LiteLLM calling ``openai``) adds no second span for the same call.
        """
        return _Attached(self.sending_context())

    def sending_context(self) -> otel_context.Context:
        """The context :meth:`current` makes current.

        A generator stream attaches it around each ``next()`` (``_method._sent_inside_span``),
        built once.
        """
        return trace.set_span_in_context(self.span, otel_context.set_value(_IN_LLM_CALL, True))

    def first_chunk(self) -> None:
        """Record the time to the first streamed chunk, once."""
        if self._first_chunk_seen:
            return
        self._first_chunk_seen = True
        try:
            elapsed_s = time.monotonic() - self._started_s
            self.span.set_attribute(attributes.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, elapsed_s)
        except Exception:
            report_internal_error("first chunk", self.span)

    def succeed(self, response: Any) -> None:
        """End the span with what ``response`` (a model or decoded JSON) says."""
        if not self._claim_end():
            return
        facts: ResponseFacts | None = None
        try:
            facts = read_response(self.adapter, response, self.options)
            self.span.set_attributes(facts.attributes)
        except Exception:
            report_internal_error(f"reading a {self.adapter.operation} response", self.span)
        self._finish(facts, error=None)

    def fail(self, error: BaseException, *, partial: Any = None) -> None:
        """End the span as failed with ``error``; ``partial`` is what a stream produced so far."""
        if not self._claim_end():
            return
        self._record_partial(partial)
        self._finish(None, error=error)

    def end_unfinished(self, partial: Any, *, abandoned: bool) -> None:
        """End a stream's span that was closed (or dropped, ``abandoned``) before its end."""
        if not self._claim_end():
            return
        try:
            if abandoned:
                self.span.set_attribute(attributes.STREAM_ABANDONED, True)
        except Exception:
            report_internal_error("marking an abandoned stream", self.span)
        facts = self._record_partial(partial)
        self._finish(facts, error=None)

    def end_quietly(self) -> None:
        """End the span with nothing more to say (spanflow could not follow the response)."""
        if self._claim_end():
            self._finish(None, error=None)

    @property
    def ended(self) -> bool:
        """Whether the span has ended."""
        return self._ended

    def _record_partial(self, partial: Any) -> ResponseFacts | None:
        if partial is None:
            return None
        try:
            facts = read_response(self.adapter, partial, self.options)
            self.span.set_attributes(facts.attributes)
            return facts
        except Exception:
            report_internal_error(f"reading a partial {self.adapter.operation} stream", self.span)
            return None

    def _claim_end(self) -> bool:
        try:
            self._end_token.pop()
        except IndexError:
            return False
        self._ended = True
        return True

    def _finish(self, facts: ResponseFacts | None, *, error: BaseException | None) -> None:
        try:
            if error is not None:
                _record_error(self.span, error)
            if self._pending is not None:
                dataflow.on_call_end(self._pending, facts.outputs if facts is not None else None)
        except Exception:
            report_internal_error("ending an LLM span", self.span)
        finally:
            self.span.end()


class _Attached:
    """Makes a context current for a ``with`` block: one attach, one detach."""

    __slots__ = ("_context", "_token")

    def __init__(self, context: otel_context.Context) -> None:
        self._context = context

    def __enter__(self) -> None:
        self._token = otel_context.attach(self._context)

    def __exit__(self, *exc_info: object) -> None:
        otel_context.detach(self._token)


def _record_error(span: trace.Span, error: BaseException) -> None:
    if isinstance(error, Exception):
        record_error(span, error)
    else:  # cancelled or interrupted: the call did not fail, it was stopped
        span.set_attribute(attributes.ERROR_TYPE, type(error).__qualname__)
