"""LangGraph wrappers: an ``invoke_agent`` span per graph invocation, a ``chain`` span per node.

``Pregel.invoke`` / ``ainvoke`` (what ``create_agent`` and ``create_react_agent`` graphs are
called with) become ``invoke_agent {graph name}`` spans, so one invocation is one trace even
outside a run. Iterating ``stream()`` yourself gets node spans but no graph span: a span kept
current across a generator's yields would leak into the caller's code between them.

LangGraph runs every node task through ``run_with_retry`` / ``arun_with_retry`` (imported by
name into ``langgraph.pregel._runner``, which is where they are patched). The span wraps all
attempts of one task, so the LLM span of an agent node and the tool spans of a tools node hang
under the node that made them. Node inputs are whole graph states, so node spans carry no
content and do not take part in dataflow matching: the LLM and tool spans inside them do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry import trace

from spanflow import attributes
from spanflow._internal.guard import report_internal_error
from spanflow.instrumentation import operations
from spanflow.instrumentation.operations import Operation

LANGGRAPH_STEP_KEY = "langgraph_step"  # the superstep number in a task's config metadata


# How a wrapped call opens its operation: (tracer, instance, args, kwargs) -> operation or None.
_Start = Callable[[trace.Tracer, Any, tuple[Any, ...], dict[str, Any]], "Operation | None"]


def _sync_wrapper(tracer: trace.Tracer, start: _Start) -> Callable[..., Any]:
    def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        operation = start(tracer, instance, args, kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:  # recorded, then re-raised as it is
            _finish_failed(operation, error)
            raise
        operations.finish_operation(operation)
        return result

    return wrapper


def _async_wrapper(tracer: trace.Tracer, start: _Start) -> Callable[..., Any]:
    async def wrapper(
        wrapped: Callable[..., Awaitable[Any]],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        operation = start(tracer, instance, args, kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as error:  # recorded, then re-raised as it is
            _finish_failed(operation, error)
            raise
        operations.finish_operation(operation)
        return result

    return wrapper


def sync_graph_wrapper(tracer: trace.Tracer) -> Callable[..., Any]:
    """The wrapt wrapper of ``Pregel.invoke``."""
    return _sync_wrapper(tracer, _start_graph)


def async_graph_wrapper(tracer: trace.Tracer) -> Callable[..., Any]:
    """The wrapt wrapper of ``Pregel.ainvoke``."""
    return _async_wrapper(tracer, _start_graph)


def sync_node_wrapper(tracer: trace.Tracer) -> Callable[..., Any]:
    """The wrapt wrapper of ``run_with_retry``."""
    return _sync_wrapper(tracer, _start)


def async_node_wrapper(tracer: trace.Tracer) -> Callable[..., Any]:
    """The wrapt wrapper of ``arun_with_retry``."""
    return _async_wrapper(tracer, _start)


def _start(
    tracer: trace.Tracer, _instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Operation | None:
    try:
        task = args[0] if args else kwargs.get("task")
        name = getattr(task, "name", None)
        if not isinstance(name, str) or name.startswith("__"):
            return None  # LangGraph's own bookkeeping nodes (__start__, ...)
        metadata = (getattr(task, "config", None) or {}).get("metadata") or {}
        step = metadata.get(LANGGRAPH_STEP_KEY)
        extra = {attributes.LANGGRAPH_STEP: step} if isinstance(step, int) else None
        return operations.start_operation(
            tracer, attributes.SpanKindValue.CHAIN, name, extra_attributes=extra
        )
    except Exception:
        report_internal_error("langgraph node start")
        return None


def _start_graph(
    tracer: trace.Tracer, graph: Any, _args: tuple[Any, ...], _kwargs: dict[str, Any]
) -> Operation | None:
    try:
        name = getattr(graph, "name", None)
        return operations.start_operation(
            tracer,
            attributes.SpanKindValue.AGENT,
            name if isinstance(name, str) and name else type(graph).__name__,
        )
    except Exception:
        report_internal_error("langgraph invoke start")
        return None


def _finish_failed(operation: Operation | None, error: BaseException) -> None:
    """An interrupt or a command for the parent graph is control flow, not a failure."""
    if any(cls.__name__ == "GraphBubbleUp" for cls in type(error).__mro__):
        operations.finish_operation(operation)
    else:
        operations.finish_operation(operation, error=error)
