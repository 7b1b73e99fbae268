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
DEFAULT_MAX_ARTIFACT_BYTES = 1024 * 1024
MAX_ARTIFACT_BYTES_CEILING = 8 * 1024 * 1024
"""The most one artifact's content may be: its record must fit one OTLP request (the
collector's body limit is 20 MiB and OTLP/JSON carries bytes as base64, a third larger)."""
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
    max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES  # stored above: a reference only


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


def _artifact_bytes() -> int:
    """``SPANFLOW_MAX_ARTIFACT_BYTES``: 0 stores no content at all, the ceiling caps it."""
    raw = os.environ.get(env.SPANFLOW_MAX_ARTIFACT_BYTES, "").strip()
    if not raw:
        return DEFAULT_MAX_ARTIFACT_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        logger.warning(
            "spanflow: %s=%r is not a whole number of bytes; using %d",
            env.SPANFLOW_MAX_ARTIFACT_BYTES,
            raw,
            DEFAULT_MAX_ARTIFACT_BYTES,
        )
        return DEFAULT_MAX_ARTIFACT_BYTES
    if value > MAX_ARTIFACT_BYTES_CEILING:
        logger.warning(
            "spanflow: %s=%d is above %d, the most one OTLP request carries safely; larger "
            "artifacts are logged as references (name, size, sha256, path) instead",
            env.SPANFLOW_MAX_ARTIFACT_BYTES,
            value,
            MAX_ARTIFACT_BYTES_CEILING,
        )
        return MAX_ARTIFACT_BYTES_CEILING
    return value


def from_environment() -> RunLimits:
    """The limits ``SPANFLOW_MAX_RUN_KEYS``, ``SPANFLOW_MAX_RUN_METRIC_POINTS`` and
    ``SPANFLOW_MAX_ARTIFACT_BYTES`` ask for."""
    return RunLimits(
        max_keys=_positive_int(env.SPANFLOW_MAX_RUN_KEYS, DEFAULT_MAX_KEYS),
        max_metric_points=_positive_int(
            env.SPANFLOW_MAX_RUN_METRIC_POINTS, DEFAULT_MAX_METRIC_POINTS
        ),
        max_artifact_bytes=_artifact_bytes(),
    )
