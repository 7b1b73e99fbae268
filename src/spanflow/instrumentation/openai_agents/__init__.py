"""OpenAI Agents SDK instrumentation: agents, function tools, handoffs and guardrails as spans.

Registers one :class:`SpanflowTracingProcessor` with the SDK (``agents.add_trace_processor``)
once ``agents`` is imported, next to whatever processors the application has; see
``_processor`` for what becomes which span. Call ``agents.set_trace_processors([...])`` before
``spanflow.instrument()``, not after: it replaces every processor, spanflow's included.
"""

from __future__ import annotations

from collections.abc import Collection
from types import ModuleType
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

from spanflow.instrumentation._version import VERSION
from spanflow.instrumentation.deferred import DeferredPatch

__all__ = ["OpenAIAgentsInstrumentor"]

_tracer: trace.Tracer = trace.get_tracer(__name__, VERSION)
_processor: Any = None  # the one SpanflowTracingProcessor, registered with the SDK once


def _current_tracer() -> trace.Tracer:
    return _tracer


def _register(module: ModuleType) -> None:
    global _processor
    if _processor is None:
        from spanflow.instrumentation.openai_agents._processor import SpanflowTracingProcessor

        _processor = SpanflowTracingProcessor(_current_tracer)
        module.add_trace_processor(_processor)
    elif not _still_registered(module, _processor):  # set_trace_processors() dropped it
        module.add_trace_processor(_processor)
    _processor.active = True


def _still_registered(module: ModuleType, processor: Any) -> bool:
    """Whether the SDK still calls ``processor``; assumed so when its internals are unknown."""
    from agents.tracing import get_trace_provider

    provider = get_trace_provider()
    processors = getattr(getattr(provider, "_multi_processor", None), "_processors", None)
    return processors is None or processor in processors


def _deactivate(module: ModuleType) -> None:
    if _processor is not None:
        _processor.active = False  # the SDK has no way to remove one processor


_PROCESSOR = DeferredPatch("agents", _register, _deactivate)


class OpenAIAgentsInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Traces OpenAI Agents SDK runs: agents, function tools, handoffs, guardrails.

    ``OpenAIAgentsInstrumentor().instrument(tracer_provider=...)`` registers spanflow's tracing
    processor with the SDK when ``agents`` is imported; ``uninstrument()`` silences it.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("openai-agents >= 0.1",)

    def _instrument(self, **kwargs: Any) -> None:
        global _tracer
        _tracer = trace.get_tracer(__name__, VERSION, kwargs.get("tracer_provider"))
        _PROCESSOR.apply()

    def _uninstrument(self, **kwargs: Any) -> None:
        _PROCESSOR.remove()
