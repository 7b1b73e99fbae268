"""LangChain and LangGraph instrumentation: tool calls and graph nodes as spans.

* every ``BaseTool`` call (``invoke``, ``run``, ``ainvoke``, ``arun``, LangGraph's ``ToolNode``)
  becomes an ``execute_tool {name}`` span with its arguments, result and tool-call id;
* every LangGraph ``invoke``/``ainvoke`` becomes an ``invoke_agent {graph name}`` span;
* every LangGraph node execution becomes a ``chain`` span named after the node.

Chat models are not traced here: ``ChatOpenAI`` and friends call the ``openai``/``anthropic``
clients, whose instrumentation already makes exactly one LLM span per request. Like every
spanflow instrumentor, patching waits until the application imports ``langchain_core`` /
``langgraph``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace

from spanflow.instrumentation._instrumentor import Hook, LLMInstrumentor, Wrapper
from spanflow.instrumentation.langchain._graph import (
    async_graph_wrapper,
    async_node_wrapper,
    sync_graph_wrapper,
    sync_node_wrapper,
)
from spanflow.instrumentation.langchain._tools import async_tool_wrapper, sync_tool_wrapper

__all__ = ["LangChainInstrumentor"]

_TOOLS = "langchain_core.tools.base"
_GRAPH = "langgraph.pregel.main"
_GRAPH_RUNNER = "langgraph.pregel._runner"  # imports run_with_retry by name: patched there


def _tool_run(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return sync_tool_wrapper(tracer)


def _tool_arun(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return async_tool_wrapper(tracer)


def _graph_invoke(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return sync_graph_wrapper(tracer)


def _graph_ainvoke(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return async_graph_wrapper(tracer)


def _node_run(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return sync_node_wrapper(tracer)


def _node_arun(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return async_node_wrapper(tracer)


class LangChainInstrumentor(LLMInstrumentor):
    """Traces LangChain tool calls and LangGraph node executions.

    ``LangChainInstrumentor().instrument(tracer_provider=...)`` patches ``BaseTool`` and
    LangGraph's task runner when they are imported; ``uninstrument()`` restores them.
    """

    dependencies = ("langchain-core >= 0.3",)
    hooks = (
        Hook(_TOOLS, "BaseTool.run", _tool_run),
        Hook(_TOOLS, "BaseTool.arun", _tool_arun),
        Hook(_GRAPH, "Pregel.invoke", _graph_invoke),
        Hook(_GRAPH, "Pregel.ainvoke", _graph_ainvoke),
        Hook(_GRAPH_RUNNER, "run_with_retry", _node_run),
        Hook(_GRAPH_RUNNER, "arun_with_retry", _node_arun),
    )
