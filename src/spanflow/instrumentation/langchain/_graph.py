"""LangGraph node wrappers: one ``chain`` span per node execution, parent of what the node does.

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
from spanflow.instrumentation import operations
from spanflow.instrumentation._guard import report_internal_error
from spanflow.instrumentation.operations import Operation

LANGGRAPH_STEP_KEY = "langgraph_step"  # the superstep number in a task's config metadata


def sync_node_wrapper(tracer: trace.Tracer) -> Callable[..., Any]:
    """The wrapt wrapper of ``run_with_retry``."""

    def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        operation = _start(tracer, args, kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:  # recorded, then re-raised as it is
            operations.finish_operation(operation, error=error)
            raise
        operations.finish_operation(operation)
        return result

    return wrapper


def async_node_wrapper(tracer: trace.Tracer) -> Callable[..., Any]:
    """The wrapt wrapper of ``arun_with_retry``."""

    async def wrapper(
        wrapped: Callable[..., Awaitable[Any]],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        operation = _start(tracer, args, kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as error:  # recorded, then re-raised as it is
            operations.finish_operation(operation, error=error)
            raise
        operations.finish_operation(operation)
        return result

    return wrapper


def _start(tracer: trace.Tracer, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Operation | None:
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
