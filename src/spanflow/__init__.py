"""spanflow: OpenTelemetry-native run tracking for LLM agents and evaluation pipelines.

The public names load on first use (PEP 562), so ``import spanflow`` and its leaf modules
(``spanflow.attributes``, ``spanflow.environment``) start no OpenTelemetry SDK, exporter or
dataflow machinery until a program actually uses one of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spanflow._internal.config import (
        ConfigurationError,
        configure,
        force_flush,
        shutdown,
    )
    from spanflow._internal.existing_run import RunExistsError
    from spanflow._internal.handle import RunHandle
    from spanflow._internal.logging_api import (
        log_artifact,
        log_input,
        log_inputs,
        log_metric,
        log_metrics,
        log_output,
        log_outputs,
        log_param,
        log_params,
        tag,
    )
    from spanflow._internal.run import current_run, launch, run, start_run
    from spanflow._internal.warn import SpanflowDeprecationWarning, SpanflowWarning
    from spanflow._internal.written_index import graph
    from spanflow.attributes import RunStatus
    from spanflow.client import Client
    from spanflow.dataflow import link, link_dataflow
    from spanflow.instrumentation._api import instrument, uninstrument
    from spanflow.instrumentation.step import step
    from spanflow.replaying import replay

__all__ = [
    "Client",
    "ConfigurationError",
    "RunExistsError",
    "RunHandle",
    "RunStatus",
    "SpanflowDeprecationWarning",
    "SpanflowWarning",
    "configure",
    "current_run",
    "force_flush",
    "graph",
    "instrument",
    "launch",
    "link",  # deprecated name of link_dataflow, kept working
    "link_dataflow",
    "log_artifact",
    "log_input",
    "log_inputs",
    "log_metric",
    "log_metrics",
    "log_output",
    "log_outputs",
    "log_param",
    "log_params",
    "replay",
    "run",
    "shutdown",
    "start_run",
    "step",
    "tag",
    "uninstrument",
]

# Where each public name lives; keep in step with the TYPE_CHECKING imports above (a test
# checks both against __all__).
_PUBLIC_HOMES = {
    "Client": "spanflow.client",
    "ConfigurationError": "spanflow._internal.config",
    "RunExistsError": "spanflow._internal.existing_run",
    "RunHandle": "spanflow._internal.handle",
    "RunStatus": "spanflow.attributes",
    "SpanflowDeprecationWarning": "spanflow._internal.warn",
    "SpanflowWarning": "spanflow._internal.warn",
    "configure": "spanflow._internal.config",
    "current_run": "spanflow._internal.run",
    "force_flush": "spanflow._internal.config",
    "graph": "spanflow._internal.written_index",
    "instrument": "spanflow.instrumentation._api",
    "launch": "spanflow._internal.run",
    "link": "spanflow.dataflow",
    "link_dataflow": "spanflow.dataflow",
    "log_artifact": "spanflow._internal.logging_api",
    "log_input": "spanflow._internal.logging_api",
    "log_inputs": "spanflow._internal.logging_api",
    "log_metric": "spanflow._internal.logging_api",
    "log_metrics": "spanflow._internal.logging_api",
    "log_output": "spanflow._internal.logging_api",
    "log_outputs": "spanflow._internal.logging_api",
    "log_param": "spanflow._internal.logging_api",
    "log_params": "spanflow._internal.logging_api",
    "replay": "spanflow.replaying",
    "run": "spanflow._internal.run",
    "shutdown": "spanflow._internal.config",
    "start_run": "spanflow._internal.run",
    "step": "spanflow.instrumentation.step",
    "tag": "spanflow._internal.logging_api",
    "uninstrument": "spanflow.instrumentation._api",
}


# Read from the installed package's metadata on first use, not at import: the lookup has a
# cost that ``import spanflow`` should not pay. Not in ``__all__`` (a dunder, never starred).
__version__: str


def __getattr__(name: str) -> Any:
    home = "spanflow._version" if name == "__version__" else _PUBLIC_HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'spanflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    # Cached on the module, so later lookups skip this function.
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
