"""spanflow: OpenTelemetry-native run tracking for LLM agents and evaluation pipelines."""

from __future__ import annotations

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
from spanflow._internal.warn import SpanflowWarning
from spanflow._internal.written_index import graph
from spanflow.attributes import RunStatus
from spanflow.client import Client
from spanflow.dataflow import link
from spanflow.instrumentation._api import instrument, uninstrument
from spanflow.instrumentation.step import step
from spanflow.replaying import replay

__all__ = [
    "Client",
    "ConfigurationError",
    "RunExistsError",
    "RunHandle",
    "RunStatus",
    "SpanflowWarning",
    "configure",
    "current_run",
    "force_flush",
    "graph",
    "instrument",
    "launch",
    "link",
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
