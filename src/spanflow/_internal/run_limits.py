"""The documented per-run limits on logged data, read from the environment when a run opens.

Run data travels as run records, so the only limits are these deliberate ones, generous enough
for real runs and there to keep a runaway loop from exhausting memory. Reaching one warns once
(a :class:`~spanflow.SpanflowWarning`) and marks the run ``truncated`` in the index.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from spanflow import environment as env

logger = logging.getLogger("spanflow")

DEFAULT_MAX_KEYS = 100_000
DEFAULT_MAX_METRIC_POINTS = 10_000_000
ROOT_SPAN_USER_ATTRIBUTES = 32
"""Params and ``run(**attributes)`` copied onto the root span for trace-only backends, at most."""
ROOT_SPAN_OWN_ATTRIBUTES = 16
"""Room kept on the root span for spanflow's own fields (id, name, project, status, error...):
with a lowered ``OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`` fewer user attributes are copied, never
spanflow's own pushed out."""


@dataclass(frozen=True)
class RunLimits:
    """How much one run segment may log before spanflow drops the rest (and says so)."""

    max_keys: int = DEFAULT_MAX_KEYS  # distinct keys per kind: params, outputs, inputs
    max_metric_points: int = DEFAULT_MAX_METRIC_POINTS


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        logger.warning("spanflow: %s=%r is not a positive integer; using %d", name, raw, default)
        return default
    return value


def from_environment() -> RunLimits:
    """The limits ``SPANFLOW_MAX_RUN_KEYS`` and ``SPANFLOW_MAX_RUN_METRIC_POINTS`` ask for."""
    return RunLimits(
        max_keys=_positive_int(env.SPANFLOW_MAX_RUN_KEYS, DEFAULT_MAX_KEYS),
        max_metric_points=_positive_int(
            env.SPANFLOW_MAX_RUN_METRIC_POINTS, DEFAULT_MAX_METRIC_POINTS
        ),
    )
