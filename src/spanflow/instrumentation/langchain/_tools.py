"""``BaseTool.run`` / ``BaseTool.arun`` wrappers: one ``execute_tool {name}`` span per tool call.

Wrapping ``run``/``arun`` rather than listening to callbacks keeps the span current while the
tool body runs (LangChain runs it in a copy of the caller's context), so an LLM call made inside
a tool is the tool span's child, and the outcome seen here is exactly what the caller gets: the
returned value (a ``ToolMessage`` when the call came from a model's tool call) or the raised
exception, which is recorded and re-raised untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from opentelemetry import trace

from spanflow import attributes
from spanflow._internal.guard import report_internal_error
from spanflow.instrumentation import operations
from spanflow.instrumentation.operations import Operation


def sync_tool_wrapper(tracer: trace.Tracer) -> Callable[..., Any]:
    """The wrapt wrapper of ``BaseTool.run``."""

    def wrapper(
        wrapped: Callable[..., Any], tool: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        operation = _start(tracer, tool, args, kwargs)
        try:
            output = wrapped(*args, **kwargs)
        except BaseException as error:  # recorded, then re-raised as it is
            operations.finish_operation(operation, error=error)
            raise
        _finish(operation, output)
        return output

    return wrapper


def async_tool_wrapper(tracer: trace.Tracer) -> Callable[..., Any]:
    """The wrapt wrapper of ``BaseTool.arun``."""

    async def wrapper(
        wrapped: Callable[..., Awaitable[Any]],
        tool: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        operation = _start(tracer, tool, args, kwargs)
        try:
            output = await wrapped(*args, **kwargs)
        except BaseException as error:  # recorded, then re-raised as it is
            operations.finish_operation(operation, error=error)
            raise
        _finish(operation, output)
        return output

    return wrapper


def _start(
    tracer: trace.Tracer, tool: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Operation | None:
    try:
        tool_input = args[0] if args else kwargs.get("tool_input")
        call_id = kwargs.get("tool_call_id")
        return operations.start_operation(
            tracer,
            attributes.SpanKindValue.TOOL,
            str(getattr(tool, "name", None) or type(tool).__name__),
            arguments=_visible_arguments(tool, tool_input),
            tool_call_id=call_id if isinstance(call_id, str) else None,
            description=_text_or_none(getattr(tool, "description", None)),
        )
    except Exception:
        report_internal_error("langchain tool start")
        return None


def _finish(operation: Operation | None, output: Any) -> None:
    """The result is the message content; a tool error LangChain handled marks the span too."""
    try:
        message_content = getattr(output, "content", None)
        is_tool_message = type(output).__name__ == "ToolMessage"
        result = message_content if is_tool_message else output
        if is_tool_message and getattr(output, "status", None) == "error" and operation:
            operation.span.set_attribute(attributes.ERROR_TYPE, "tool_error")
            operation.span.set_status(trace.StatusCode.ERROR, _text_or_none(message_content))
        operations.finish_operation(operation, result=result)
    except Exception:
        report_internal_error("langchain tool end")
        operations.finish_operation(operation)


def _visible_arguments(tool: Any, tool_input: Any) -> Any:
    """The arguments the model gave, without the ones LangChain injects (state, store, ...)."""
    if not isinstance(tool_input, Mapping):
        return tool_input
    filtered = getattr(tool, "_filter_injected_args", None)
    if callable(filtered):
        try:
            return filtered(dict(tool_input))
        except Exception:
            report_internal_error("langchain tool arguments")
    return dict(tool_input)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
