"""LangChain and LangGraph instrumentation: tool calls and graph nodes as spans.

* every ``BaseTool`` call (``invoke``, ``run``, ``ainvoke``, ``arun``, LangGraph's ``ToolNode``)
  becomes an ``execute_tool {name}`` span with its arguments, result and tool-call id;
* every LangGraph node execution becomes a ``chain`` span named after the node.

Chat models are not traced here: ``ChatOpenAI`` and friends call the ``openai``/``anthropic``
clients, whose instrumentation already makes exactly one LLM span per request. Patching waits
until the application imports ``langchain_core`` / ``langgraph`` (see ``deferred``).
"""

from __future__ import annotations

from collections.abc import Collection
from types import ModuleType
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from spanflow.instrumentation._version import VERSION
from spanflow.instrumentation.deferred import DeferredPatch
from spanflow.instrumentation.langchain._graph import async_node_wrapper, sync_node_wrapper
from spanflow.instrumentation.langchain._tools import async_tool_wrapper, sync_tool_wrapper

__all__ = ["LangChainInstrumentor"]

_tracer: trace.Tracer = trace.get_tracer(__name__, VERSION)


def _current_tracer() -> trace.Tracer:
    return _tracer


def _patch_tools(module: ModuleType) -> None:
    wrap_function_wrapper(module, "BaseTool.run", sync_tool_wrapper(_current_tracer))
    wrap_function_wrapper(module, "BaseTool.arun", async_tool_wrapper(_current_tracer))


def _unpatch_tools(module: ModuleType) -> None:
    unwrap(module.BaseTool, "run")
    unwrap(module.BaseTool, "arun")


def _patch_graph(module: ModuleType) -> None:
    wrap_function_wrapper(module, "run_with_retry", sync_node_wrapper(_current_tracer))
    wrap_function_wrapper(module, "arun_with_retry", async_node_wrapper(_current_tracer))


def _unpatch_graph(module: ModuleType) -> None:
    unwrap(module, "run_with_retry")
    unwrap(module, "arun_with_retry")


_TOOLS = DeferredPatch("langchain_core.tools.base", _patch_tools, _unpatch_tools)
_GRAPH = DeferredPatch("langgraph.pregel._runner", _patch_graph, _unpatch_graph)


class LangChainInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Traces LangChain tool calls and LangGraph node executions.

    ``LangChainInstrumentor().instrument(tracer_provider=...)`` patches ``BaseTool`` and
    LangGraph's task runner when they are imported; ``uninstrument()`` restores them.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("langchain-core >= 0.3",)

    def _instrument(self, **kwargs: Any) -> None:
        global _tracer
        _tracer = trace.get_tracer(__name__, VERSION, kwargs.get("tracer_provider"))
        _TOOLS.apply()
        _GRAPH.apply()

    def _uninstrument(self, **kwargs: Any) -> None:
        _TOOLS.remove()
        _GRAPH.remove()
