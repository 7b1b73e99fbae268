"""Failures inside spanflow's instrumentation: logged once per place, never raised to users."""

from __future__ import annotations

import logging
import threading
from typing import Any

from spanflow import attributes

logger = logging.getLogger("spanflow.instrumentation")

_reported: set[str] = set()
_reported_lock = threading.Lock()


def report_internal_error(where: str, span: Any = None) -> None:
    """Log the exception being handled once per ``where`` and mark ``span`` with it.

    Call only from an ``except Exception`` block. Never raises.
    """
    try:
        with _reported_lock:
            first = where not in _reported
            _reported.add(where)
        if first:
            logger.warning(
                "spanflow: instrumentation failed in %s; the call goes on untraced there",
                where,
                exc_info=True,
            )
        if span is not None and span.is_recording():
            span.set_attribute(attributes.INTERNAL_ERROR, where)
    except Exception:  # pragma: no cover - logging itself failed
        pass


def reset_reported() -> None:
    """Forget which places already logged, so the next failure logs again (tests)."""
    with _reported_lock:
        _reported.clear()
