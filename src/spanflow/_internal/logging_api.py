"""``log_param``, ``log_metric``, ``log_output``, ``log_input``, ``log_artifact``, ``tag``.

Outside a run each function warns once (a :class:`~spanflow.SpanflowWarning`) and does
nothing. A value spanflow cannot record is dropped or stringified with a warning naming its
key. None of them raises into user code for a failure inside spanflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spanflow._internal.artifacts import ArtifactSource
from spanflow._internal.handle import RunHandle, safe_call
from spanflow._internal.membership import current_run
from spanflow._internal.warn import warn_once


def _target(operation: str) -> RunHandle | None:
    found = current_run()
    if found is None:
        warn_once(
            f"outside-{operation}",
            f"spanflow: {operation}() outside a run does nothing; "
            "wrap the code in `with spanflow.run():`",
            stacklevel=3,
        )
    return found


def log_param(key: str, value: Any) -> None:
    """Record a param of the current run (a run record, see docs/attributes.md).

    bool, int, float and str stay native; anything else is stored as JSON.
    """
    if (target := _target("log_param")) is not None:
        safe_call("log_param", target.log_param, key, value)


def log_params(params: Mapping[str, Any] | None = None, /, **named: Any) -> None:
    """Record several params of the current run: ``log_params(lr=0.1)`` or
    ``log_params({"lr": 0.1})`` (or both; a keyword wins over the same key in the mapping)."""
    if (target := _target("log_params")) is not None:
        safe_call("log_params", target.log_params, params, **named)


def log_metric(name: str, value: float, *, step: int | None = None) -> None:
    """Record a metric point (name, value, optional step, time) of the current run.

    NaN, infinities and non-numbers are dropped with a warning.
    """
    if (target := _target("log_metric")) is not None:
        safe_call("log_metric", target.log_metric, name, value, step=step)


def log_metrics(
    metrics: Mapping[str, float] | None = None, /, *, step: int | None = None, **named: float
) -> None:
    """Record several metric points with one ``step``: ``log_metrics(loss=0.1, acc=0.9)`` or
    ``log_metrics({"loss": 0.1})`` (a metric called ``step`` goes in the mapping)."""
    if (target := _target("log_metrics")) is not None:
        safe_call("log_metrics", target.log_metrics, metrics, step=step, **named)


def log_output(name: str, value: Any) -> None:
    """Record an output of the current run (str native, anything else JSON)."""
    if (target := _target("log_output")) is not None:
        safe_call("log_output", target.log_output, name, value)


def log_outputs(outputs: Mapping[str, Any] | None = None, /, **named: Any) -> None:
    """Record several outputs of the current run: ``log_outputs(answer="4")`` or
    ``log_outputs({"final answer": "4"})`` (or both; a keyword wins over the same key)."""
    if (target := _target("log_outputs")) is not None:
        safe_call("log_outputs", target.log_outputs, outputs, **named)


def log_input(name: str, value: Any) -> None:
    """Record an input of the current run (a dataset row, a prompt; str native, else JSON)."""
    if (target := _target("log_input")) is not None:
        safe_call("log_input", target.log_input, name, value)


def log_inputs(inputs: Mapping[str, Any] | None = None, /, **named: Any) -> None:
    """Record several inputs of the current run: ``log_inputs(answer="4")`` or
    ``log_inputs({"final answer": "4"})`` (or both; a keyword wins over the same key)."""
    if (target := _target("log_inputs")) is not None:
        safe_call("log_inputs", target.log_inputs, inputs, **named)


def log_artifact(
    path_or_bytes: ArtifactSource, *, name: str | None = None, media_type: str | None = None
) -> None:
    """Record a file or bytes as an artifact of the current run (docs/artifacts.md).

    Content up to ``SPANFLOW_MAX_ARTIFACT_BYTES`` (1 MiB) is stored in the index; larger
    content is recorded as a reference (name, size, sha256, media type, path).
    """
    if (target := _target("log_artifact")) is not None:
        safe_call(
            "log_artifact", target.log_artifact, path_or_bytes, name=name, media_type=media_type
        )


def tag(*tags: str) -> None:
    """Add tags to the current run."""
    if (target := _target("tag")) is not None:
        safe_call("tag", target.tag, *tags)
