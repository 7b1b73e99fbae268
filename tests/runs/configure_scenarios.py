"""configure() scenarios for tests/runs/test_configure.py, each in a fresh interpreter."""

from __future__ import annotations

import sys

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import spanflow


def joins_existing_provider() -> None:
    """An application's own provider and exporter keep working next to spanflow's."""
    own = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(own))
    trace.set_tracer_provider(provider)
    spanflow.configure()  # endpoint from the environment
    with spanflow.run("joined"):
        trace.get_tracer("app").start_span("app-span").end()
    spanflow.force_flush()
    assert trace.get_tracer_provider() is provider
    names = sorted(span.name for span in own.get_finished_spans())
    print(",".join(names))


def implicit_from_environment() -> None:
    """run() without configure(): the environment decides everything."""
    with spanflow.run("implicit"):
        pass


def disabled() -> None:
    """OTEL_SDK_DISABLED: runs still work and return values, nothing is exported."""
    with spanflow.run("disabled") as handle:
        value = 42
    print(handle.status, value)


if __name__ == "__main__":
    {
        "join": joins_existing_provider,
        "implicit": implicit_from_environment,
        "disabled": disabled,
    }[sys.argv[1]]()
