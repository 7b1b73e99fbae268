"""MCP client instrumentation: ``ClientSession.call_tool`` and ``read_resource`` as spans.

``call_tool`` becomes an ``execute_tool {name}`` span (``gen_ai.tool.type`` ``extension``, the
GenAI term for a tool that runs outside the agent) with the arguments and the result content;
``read_resource`` a ``resources/read {uri}`` span whose result is the resource's text. Both
feed dataflow like any tool. The MCP SDK's own transport span (``MCP send tools/call ...``)
becomes the child of this one. A tool that answers ``isError`` marks the span as failed
without raising, exactly as the SDK does. Patching waits until ``mcp`` is imported.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from opentelemetry import trace

from spanflow import attributes
from spanflow._internal.guard import report_internal_error
from spanflow.instrumentation import operations
from spanflow.instrumentation._instrumentor import Hook, LLMInstrumentor, Wrapper
from spanflow.instrumentation.operations import Operation

__all__ = ["MCPInstrumentor"]

TOOLS_CALL = "tools/call"
RESOURCES_READ = "resources/read"
EXTENSION_TOOL = "extension"  # GenAI gen_ai.tool.type for tools executed outside the agent


def _traced_call(
    tracer: trace.Tracer,
    start: Callable[[trace.Tracer, tuple[Any, ...], dict[str, Any]], Operation | None],
) -> Wrapper:
    """An ``async`` wrapper: span from ``start``, the session call, then its result or error."""

    async def wrapper(
        wrapped: Callable[..., Awaitable[Any]],
        session: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        operation = start(tracer, args, kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as error:  # recorded, then re-raised as it is
            operations.finish_operation(operation, error=error)
            raise
        _finish_with(operation, result)
        return result

    return wrapper


def _start_tool_call(
    tracer: trace.Tracer, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Operation | None:
    try:
        name = args[0] if args else kwargs.get("name")
        arguments = args[1] if len(args) > 1 else kwargs.get("arguments")
        return operations.start_operation(
            tracer,
            attributes.SpanKindValue.TOOL,
            str(name),
            arguments=arguments if arguments is not None else {},
            tool_type=EXTENSION_TOOL,
            extra_attributes={attributes.MCP_METHOD_NAME: TOOLS_CALL},
        )
    except Exception:
        report_internal_error("mcp call_tool start")
        return None


def _start_resource_read(
    tracer: trace.Tracer, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Operation | None:
    try:
        uri = str(args[0] if args else kwargs.get("uri"))
        return operations.start_operation(
            tracer,
            attributes.SpanKindValue.TOOL,
            RESOURCES_READ,
            arguments={"uri": uri},
            span_name=f"{RESOURCES_READ} {uri}",  # the MCP conventions' "{method} {target}"
            tool_type=EXTENSION_TOOL,
            extra_attributes={
                attributes.MCP_METHOD_NAME: RESOURCES_READ,
                attributes.MCP_RESOURCE_URI: uri,
            },
        )
    except Exception:
        report_internal_error("mcp read_resource start")
        return None


def _finish_with(operation: Operation | None, result: Any) -> None:
    """The result's text (what a model would be shown); ``isError`` results mark the span."""
    try:
        texts = [text for item in _content_items(result) if isinstance(text := _text(item), str)]
        structured = getattr(result, "structured_content", None) or getattr(
            result, "structuredContent", None
        )
        value: Any = texts[0] if len(texts) == 1 else texts
        if structured is not None and not texts:
            value = structured
        if operation is not None and _is_error(result):
            operation.span.set_attribute(attributes.ERROR_TYPE, "tool_error")
            operation.span.set_status(trace.StatusCode.ERROR, "; ".join(texts)[:200])
        operations.finish_operation(operation, result=value)
    except Exception:
        report_internal_error("mcp result")
        operations.finish_operation(operation)


def _content_items(result: Any) -> list[Any]:
    items = getattr(result, "content", None)
    if items is None:
        items = getattr(result, "contents", None)  # resources/read
    return list(items or ())


def _text(item: Any) -> Any:
    return getattr(item, "text", None)


def _is_error(result: Any) -> bool:
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", None))


def _call_tool(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return _traced_call(tracer, _start_tool_call)


def _read_resource(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return _traced_call(tracer, _start_resource_read)


class MCPInstrumentor(LLMInstrumentor):
    """Traces MCP client tool calls and resource reads.

    ``MCPInstrumentor().instrument(tracer_provider=...)`` patches ``mcp.ClientSession`` when it
    is imported; ``uninstrument()`` restores it.
    """

    dependencies = ("mcp >= 1.0",)
    hooks = (
        Hook("mcp.client.session", "ClientSession.call_tool", _call_tool),
        Hook("mcp.client.session", "ClientSession.read_resource", _read_resource),
    )
