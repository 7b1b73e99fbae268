"""OpenAI Agents SDK instrumentation: agents, function tools, handoffs and guardrails as spans.

Registers one ``SpanflowTracingProcessor`` with the SDK (``agents.add_trace_processor``) once
``agents`` is imported, next to whatever processors the application has; see ``_processor``
for what becomes which span. Call ``agents.set_trace_processors([...])`` before
``spanflow.instrument()``, not after: it replaces every processor, spanflow's included (a later
``instrument()`` adds it back).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from opentelemetry import trace

from spanflow.instrumentation._instrumentor import LLMInstrumentor

__all__ = ["OpenAIAgentsInstrumentor"]

# The one SpanflowTracingProcessor, registered with the SDK once (not named ``_processor``: that
# is the submodule, which importing it would bind on this package over the variable).
_spanflow_processor: Any = None


class OpenAIAgentsInstrumentor(LLMInstrumentor):
    """Traces OpenAI Agents SDK runs: agents, function tools, handoffs, guardrails.

    ``OpenAIAgentsInstrumentor().instrument(tracer_provider=...)`` registers spanflow's tracing
    processor with the SDK when ``agents`` is imported; ``uninstrument()`` silences it (the SDK
    has no way to remove a single processor).
    """

    dependencies = ("openai-agents >= 0.1",)

    def setup(self, tracer: trace.Tracer, options: Mapping[str, Any]) -> None:
        def register(module: ModuleType) -> None:
            _register(module, tracer)

        self.on_import("agents", register)

    def teardown(self) -> None:
        if _spanflow_processor is not None:
            _spanflow_processor.active = False


def _register(module: ModuleType, tracer: trace.Tracer) -> None:
    global _spanflow_processor
    from spanflow.instrumentation.openai_agents._processor import SpanflowTracingProcessor

    if _spanflow_processor is None:
        _spanflow_processor = SpanflowTracingProcessor(tracer)
        module.add_trace_processor(_spanflow_processor)
    elif not _still_registered(_spanflow_processor):  # set_trace_processors() dropped it
        module.add_trace_processor(_spanflow_processor)
    _spanflow_processor.tracer = tracer
    _spanflow_processor.active = True


def _still_registered(processor: Any) -> bool:
    """Whether the SDK still calls ``processor``; assumed so when its internals are unknown."""
    from agents.tracing import get_trace_provider

    provider = get_trace_provider()
    processors = getattr(getattr(provider, "_multi_processor", None), "_processors", None)
    return processors is None or processor in processors
