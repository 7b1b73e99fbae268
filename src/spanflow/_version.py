"""spanflow's version and the semantic-conventions schema of its spans, for every tracer.

One lookup, so the ``spanflow version`` command, ``spanflow.__version__`` and the instrumentation
scope of every span spanflow starts (runs, steps, LLM calls, frameworks) always agree.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry import trace

try:
    __version__ = version("spanflow")
except PackageNotFoundError:  # pragma: no cover - imported from a source tree never installed
    __version__ = "0+unknown"

SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"
"""The OpenTelemetry schema spanflow's spans follow (GenAI: ``gen_ai.provider.name``, ...)."""


def get_tracer(
    scope_name: str, tracer_provider: trace.TracerProvider | None = None
) -> trace.Tracer:
    """A tracer for ``scope_name`` stamped with spanflow's version and schema URL."""
    # Imported here so ``spanflow.__version__`` and ``spanflow version`` load no OpenTelemetry.
    from opentelemetry import trace

    return trace.get_tracer(scope_name, __version__, tracer_provider, schema_url=SCHEMA_URL)
