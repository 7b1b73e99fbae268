"""Tool, agent and chain spans shared by the framework instrumentors (LangChain, Agents SDK, MCP).

Each framework hook calls :func:`start_operation` when a tool call, an agent turn or a graph
node begins and :func:`finish_operation` when it ends. The span follows the OpenTelemetry GenAI
conventions (``execute_tool {tool}``, ``invoke_agent {agent}``), records arguments and result
behind the content-capture switch (redacted and bounded like every other captured value) and
feeds the dataflow detector: a tool's arguments are inputs, its result an output, so the graph
shows ``LLM → tool → LLM``. Neither function ever raises; a failure in here is logged once and
the framework's own call goes on untouched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from spanflow import attributes, dataflow
from spanflow._internal import redact as redaction
from spanflow._internal.guard import report_internal_error
from spanflow._internal.span_errors import record_error
from spanflow.dataflow import CallInputs, CallOutputs, TextField
from spanflow.instrumentation import content, openinference

__all__ = [
    "NO_RESULT",
    "Operation",
    "fail_operation",
    "finish_operation",
    "record_arguments",
    "start_operation",
]

NO_RESULT: Final = object()
"""Marks arguments or a result that are not known (an agent turn, a graph node)."""

_SPAN_NAMES = {
    attributes.SpanKindValue.TOOL: attributes.GenAiOperationValue.EXECUTE_TOOL,
    attributes.SpanKindValue.AGENT: attributes.GenAiOperationValue.INVOKE_AGENT,
}


@dataclass
class Operation:
    """One running tool call, agent or chain: its span and what ``finish_operation`` needs."""

    span: Span
    kind: str
    token: object | None = None
    pending: object | None = None
    tool_call_id: str | None = None


def start_operation(
    tracer: trace.Tracer,
    kind: str,
    name: str,
    *,
    arguments: Any = NO_RESULT,
    tool_call_id: str | None = None,
    tool_type: str | None = None,
    description: str | None = None,
    parent: Context | None = None,
    make_current: bool = True,
    span_name: str | None = None,
    extra_attributes: Mapping[str, Any] | None = None,
) -> Operation | None:
    """Start a ``tool``, ``agent`` or ``chain`` span; ``None`` (and a log) if spanflow fails.

    Args:
        tracer: The instrumentor's tracer.
        kind: A ``spanflow.attributes.SpanKindValue``: ``TOOL``, ``AGENT`` or ``CHAIN``.
        name: The tool, agent or node name.
        arguments: What a tool reads; recorded as content and fed to dataflow.
        tool_call_id: The model's id for this tool call, when the framework knows it.
        tool_type: ``function``, ``extension`` or ``datastore`` for tools.
        description: The tool's description.
        parent: The parent context (default: the current one).
        make_current: Make the span current until it finishes (same task/thread only).
        span_name: Overrides the conventional span name (``execute_tool {name}``, ...).
        extra_attributes: Further attributes (e.g. ``mcp.method.name``).
    """
    try:
        span = tracer.start_span(
            span_name or _span_name(kind, name),
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes=_start_attributes(
                kind, name, tool_call_id, tool_type, description, extra_attributes
            ),
        )
    except Exception:
        report_internal_error(f"{kind} span start")
        return None
    operation = Operation(span=span, kind=kind, tool_call_id=tool_call_id)
    if make_current:
        try:
            operation.token = otel_context.attach(trace.set_span_in_context(span))
        except Exception:
            report_internal_error(f"{kind} span context", span)
    if arguments is not NO_RESULT:
        record_arguments(operation, arguments)
    return operation


def record_arguments(operation: Operation | None, arguments: Any) -> None:
    """Record what the operation reads and start its dataflow matching (once, at most).

    For frameworks that learn the arguments only after the span started (the Agents SDK fills
    them in as the tool runs); ``start_operation(arguments=...)`` calls this itself.
    """
    if operation is None or operation.pending is not None:
        return
    span = operation.span
    try:
        key = _ARGUMENT_KEYS.get(operation.kind)
        if key is not None and content.capture_enabled():
            _set_content(span, key, arguments)
            openinference.set_input(span, arguments)
        operation.pending = dataflow.on_call_start(span, _inputs(arguments, operation.tool_call_id))
    except Exception:
        report_internal_error(f"{operation.kind} span arguments", span)


def finish_operation(
    operation: Operation | None, *, result: Any = NO_RESULT, error: BaseException | None = None
) -> None:
    """Record the result or the error, feed the dataflow detector and end the span."""
    if operation is None:
        return
    span = operation.span
    try:
        _detach(operation)
        if error is not None:
            record_error(span, error)
            dataflow.on_call_end(operation.pending, None)
        else:
            key = _RESULT_KEYS.get(operation.kind)
            if result is not NO_RESULT and key is not None and content.capture_enabled():
                _set_content(span, key, result)
                openinference.set_output(span, result)
            fields = _output_fields(result) if result is not NO_RESULT else ()
            dataflow.on_call_end(operation.pending, CallOutputs(fields=fields))
    except Exception:
        report_internal_error(f"{operation.kind} span end", span)
    try:
        span.end()
    except Exception:
        report_internal_error(f"{operation.kind} span end")


def fail_operation(operation: Operation | None, *, error_type: str, message: str) -> None:
    """End the span as failed for a framework that reports an error without an exception."""
    if operation is None:
        return
    span = operation.span
    try:
        _detach(operation)
        span.set_attribute(attributes.ERROR_TYPE, error_type)
        span.set_status(Status(StatusCode.ERROR, redaction.text(message)))
        dataflow.on_call_end(operation.pending, None)
    except Exception:
        report_internal_error(f"{operation.kind} span failure", span)
    try:
        span.end()
    except Exception:
        report_internal_error(f"{operation.kind} span end")


def _span_name(kind: str, name: str) -> str:
    operation_name = _SPAN_NAMES.get(kind)
    return f"{operation_name} {name}" if operation_name else name


def _start_attributes(
    kind: str,
    name: str,
    tool_call_id: str | None,
    tool_type: str | None,
    description: str | None,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    found: dict[str, Any] = {attributes.SPAN_KIND: kind}
    if kind == attributes.SpanKindValue.TOOL:
        found[attributes.GEN_AI_OPERATION_NAME] = attributes.GenAiOperationValue.EXECUTE_TOOL
        found[attributes.GEN_AI_TOOL_NAME] = name
        found[attributes.GEN_AI_TOOL_TYPE] = tool_type or "function"
        if tool_call_id:
            found[attributes.GEN_AI_TOOL_CALL_ID] = tool_call_id
        if description:
            found[attributes.GEN_AI_TOOL_DESCRIPTION] = description
    elif kind == attributes.SpanKindValue.AGENT:
        found[attributes.GEN_AI_OPERATION_NAME] = attributes.GenAiOperationValue.INVOKE_AGENT
        found[attributes.GEN_AI_AGENT_NAME] = name
    else:
        found[attributes.CHAIN_NAME] = name
    if not redaction.enabled():
        found[attributes.REDACTION_OFF] = True
    found.update(extra or {})
    return found


# Only tools record content: agent and chain inputs are whole conversations or graph states,
# already on the LLM spans inside them.
_ARGUMENT_KEYS = {attributes.SpanKindValue.TOOL: attributes.GEN_AI_TOOL_CALL_ARGUMENTS}
_RESULT_KEYS = {attributes.SpanKindValue.TOOL: attributes.GEN_AI_TOOL_CALL_RESULT}


def _set_content(span: Span, key: str, value: Any) -> None:
    """A string as it is (tools usually get and give JSON text already), anything else as JSON."""
    text, truncated = (
        content.bound_text(value) if isinstance(value, str) else content.bound_json(value)
    )
    span.set_attribute(key, text)
    if truncated:
        span.set_attribute(attributes.CONTENT_TRUNCATED, True)


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else content.to_json(value)


def _inputs(arguments: Any, tool_call_id: str | None) -> CallInputs:
    """``args`` whole, plus ``args.<key>`` per argument of a mapping."""
    fields = [TextField("args", text)] if (text := _text_of(arguments)) else []
    if isinstance(arguments, Mapping):
        fields.extend(
            TextField(f"args.{key}", text)
            for key, value in arguments.items()
            if (text := _text_of(value))
        )
    return CallInputs(fields=tuple(fields), tool_call_ids=(tool_call_id,) if tool_call_id else ())


def _output_fields(result: Any) -> tuple[TextField, ...]:
    """``return`` whole plus one field per key (mapping) or element (list) of the result."""
    fields = [TextField("return", text)] if (text := _text_of(result)) else []
    parts: list[tuple[str, Any]] = []
    if isinstance(result, Mapping):
        parts = [(f"return.{key}", value) for key, value in result.items()]
    elif isinstance(result, Sequence) and not isinstance(result, (str, bytes, bytearray)):
        parts = [(f"return[{index}]", value) for index, value in enumerate(result)]
    fields.extend(TextField(path, text) for path, value in parts if (text := _text_of(value)))
    return tuple(fields)


def _detach(operation: Operation) -> None:
    """Undo ``make_current``, only where the span is still current (never another context's)."""
    token, operation.token = operation.token, None
    if token is not None and trace.get_current_span() is operation.span:
        otel_context.detach(token)  # type: ignore[arg-type]
