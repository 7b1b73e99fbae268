"""The documented per-run limits on logged data, read from the settings when a run opens.

Run data travels as run records, so the only limits are these deliberate ones, generous enough
for real runs and there to keep a runaway loop from exhausting memory. Reaching one warns once
(a :class:`~spanflow.SpanflowWarning`) and marks the run ``truncated`` in the index.
"""

from __future__ import annotations

from dataclasses import dataclass

from spanflow._internal import settings
from spanflow._internal.parameters import BY_NAME

ROOT_SPAN_USER_ATTRIBUTES = 32
"""Params and ``run(**attributes)`` copied onto the root span for trace-only backends, at most."""
ROOT_SPAN_OWN_ATTRIBUTES = 16
"""Room kept on the root span for spanflow's own fields (id, name, project, status, error...):
with a lowered ``OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`` fewer user attributes are copied, never
spanflow's own pushed out."""


@dataclass(frozen=True)
class RunLimits:
    """How much one run segment may log before spanflow drops the rest (and says so)."""

    max_keys: int = BY_NAME["max_run_keys"].default  # distinct keys per kind: params, outputs...
    max_metric_points: int = BY_NAME["max_run_metric_points"].default
    max_artifact_bytes: int = BY_NAME["max_artifact_bytes"].default  # above: a reference only


def from_settings() -> RunLimits:
    """The limits the settings ask for (``SPANFLOW_MAX_RUN_KEYS``, ``..._METRIC_POINTS``,
    ``SPANFLOW_MAX_ARTIFACT_BYTES``)."""
    chosen = settings.current()
    return RunLimits(
        max_keys=chosen.max_run_keys,
        max_metric_points=chosen.max_run_metric_points,
        max_artifact_bytes=chosen.max_artifact_bytes,
    )
