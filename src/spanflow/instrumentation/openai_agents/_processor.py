"""A tracing processor for the OpenAI Agents SDK that turns its spans into OpenTelemetry spans.

The SDK reports every agent turn, function-tool call, handoff and guardrail to its registered
``TracingProcessor`` objects, synchronously and in the task that runs them: ``on_span_start``
before the work, ``on_span_end`` after it. This processor mirrors those as spanflow spans:

* ``agent`` → ``invoke_agent {name}``; ``function`` → ``execute_tool {name}`` (arguments and
  result as the SDK records them, which it does unless ``trace_include_sensitive_data`` is off);
* ``handoff`` and ``guardrail`` → ``chain`` spans;
* ``generation`` / ``response`` spans are skipped: the model call goes through the ``openai``
  client, whose instrumentation already makes the one LLM span.

Agent, tool and guardrail spans are made current while they run (the SDK sets and resets its
own current span in the same context, so this is safe), so the LLM span of an agent turn is the
agent span's child. Nothing here can change what the SDK's run returns or raises: the processor
only observes, and every failure is logged once and swallowed.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from agents.tracing import Span, Trace, TracingProcessor
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from spanflow import attributes
from spanflow._internal.guard import report_internal_error
from spanflow.instrumentation import operations
from spanflow.instrumentation.operations import Operation

AGENTS_ERROR = "agents_error"  # error.type when the SDK reports an error without an exception


class SpanflowTracingProcessor(TracingProcessor):
    """Mirrors Agents SDK spans as spanflow tool, agent and chain spans while ``active``."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self.tracer = tracer
        self._lock = threading.Lock()
        self._running: dict[str, Operation] = {}
        self.active = True

    def on_trace_start(self, trace: Trace) -> None:
        return None  # the spanflow run (or the caller's span) is the root; no span per trace

    def on_trace_end(self, trace: Trace) -> None:
        return None

    def on_span_start(self, span: Span[Any]) -> None:
        if not self.active or not is_instrumentation_enabled():  # suppress_instrumentation
            return
        try:
            operation = self._start(span)
        except Exception:
            report_internal_error("agents span start")
            return
        if operation is not None:
            with self._lock:
                self._running[span.span_id] = operation

    def on_span_end(self, span: Span[Any]) -> None:
        with self._lock:
            operation = self._running.pop(span.span_id, None)
        if operation is None:
            return
        try:
            self._finish(span, operation)
        except Exception:
            report_internal_error("agents span end", operation.span)
            operations.finish_operation(operation)

    def shutdown(self) -> None:
        with self._lock:
            self._running.clear()

    def force_flush(self) -> None:
        return None  # spans go to spanflow's pipeline, which flushes on its own

    def _start(self, span: Span[Any]) -> Operation | None:
        data = span.span_data
        kind = data.type
        parent = self._parent_context(span.parent_id)
        if kind == "agent":
            return operations.start_operation(
                self.tracer, attributes.SpanKindValue.AGENT, str(data.name), parent=parent
            )
        if kind == "function":
            return operations.start_operation(
                self.tracer, attributes.SpanKindValue.TOOL, str(data.name), parent=parent
            )
        if kind == "guardrail":
            return operations.start_operation(
                self.tracer,
                attributes.SpanKindValue.CHAIN,
                f"guardrail {data.name}",
                parent=parent,
            )
        if kind == "handoff":
            return operations.start_operation(
                self.tracer,
                attributes.SpanKindValue.CHAIN,
                "handoff",
                parent=parent,
                make_current=False,  # a marker of the moment control passes on
            )
        return None

    def _finish(self, span: Span[Any], operation: Operation) -> None:
        data = span.span_data
        kind = data.type
        result: Any = operations.NO_RESULT
        if kind == "function":
            if data.input is not None:
                operations.record_arguments(operation, _parsed(data.input))
            if data.output is not None:
                result = data.output
        elif kind == "handoff":
            for key, value in (
                (attributes.HANDOFF_FROM_AGENT, data.from_agent),
                (attributes.HANDOFF_TO_AGENT, data.to_agent),
            ):
                if value:
                    operation.span.set_attribute(key, str(value))
        elif kind == "guardrail":
            operation.span.set_attribute(attributes.GUARDRAIL_TRIGGERED, bool(data.triggered))
        error = span.error
        if error:
            operations.fail_operation(
                operation, error_type=AGENTS_ERROR, message=str(error.get("message") or "")
            )
            return
        operations.finish_operation(operation, result=result)

    def _parent_context(self, parent_id: str | None) -> Any:
        with self._lock:
            parent = self._running.get(parent_id) if parent_id else None
        return trace.set_span_in_context(parent.span) if parent is not None else None


def _parsed(arguments: Any) -> Any:
    """Tool arguments arrive as the model's JSON text; a JSON object gives per-key fields."""
    if isinstance(arguments, str):
        try:
            value = json.loads(arguments)
        except ValueError:
            return arguments
        return value if isinstance(value, dict) else arguments
    return arguments
