"""The documented per-run limits on logged data, read from the settings when a run opens.

Run data travels as run records, so the only limits are these deliberate ones, generous enough
for real runs and there to keep a runaway loop from exhausting memory. Reaching one warns once
(a :class:`~spanflow.SpanflowWarning`) and marks the run ``truncated`` in the index.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from spanflow import environment as env
from spanflow._internal import settings
from spanflow._internal.parameters import BY_NAME

logger = logging.getLogger("spanflow")

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

    max_keys: int = BY_NAME["max_run_keys"].default  # distinct keys per kind: params, outputs...
    max_metric_points: int = BY_NAME["max_run_metric_points"].default
    max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES  # stored above: a reference only


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


def from_settings() -> RunLimits:
    """The limits the settings ask for (``SPANFLOW_MAX_RUN_KEYS``, ``..._METRIC_POINTS``), and
    ``SPANFLOW_MAX_ARTIFACT_BYTES`` read as the run opens."""
    chosen = settings.current()
    return RunLimits(
        max_keys=chosen.max_run_keys,
        max_metric_points=chosen.max_run_metric_points,
        max_artifact_bytes=_artifact_bytes(),
    )
