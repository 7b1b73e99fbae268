"""The one internal-error guard: spanflow's own failures are logged once, counted, swallowed.

spanflow's own failures (a bug, a provider's response it cannot read, a broken exporter) never
change what user code returns or raises. Every layer — runs, steps, LLM calls, frameworks,
dataflow, export — handles them here: ``internal_errors(where)`` around a block, or
``report_internal_error(where)`` inside an ``except Exception`` block. Each failure is

- logged with its traceback the first time its place (``where``) fails, on logger ``spanflow``;
  later failures there go to the debug level, so a failure on every call is one warning;
- counted: per place for the process (``internal_error_counts()``), and on the root span of
  every run open at the time as ``spanflow.run.internal_errors``, so the index shows which runs
  may miss data;
- marked on the span it concerns, when there is one (``spanflow.internal_error`` = the place).

User misuse (``log_metric`` outside a run) is not an internal error: it is a ``SpanflowWarning``,
once per place (``spanflow._internal.warn.warn_once``). The user's own exceptions are recorded on
spans by ``spanflow._internal.span_errors.record_error``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.trace import Span

from spanflow import attributes

logger = logging.getLogger("spanflow")

_lock = threading.Lock()
_counts: dict[str, int] = {}
_total = 0
# Each open run root's span id → the process's internal error total when it started.
_run_baselines: dict[int, int] = {}


def report_internal_error(where: str, span: Any = None, *, detail: str = "") -> None:
    """Log (first time per ``where``), count and mark the exception being handled. Never raises.

    Call only from an ``except Exception`` block.

    Args:
        where: The place, as a constant phrase ("ending an LLM span"): the once-per-place key.
        span: The span the failure concerns, marked with ``spanflow.internal_error``.
        detail: Context for the log line only (a run id, a path); not part of the key.
    """
    global _total
    try:
        with _lock:
            count = _counts.get(where, 0) + 1
            _counts[where] = count
            _total += 1
        suffix = f" ({detail})" if detail else ""
        if count == 1:
            logger.warning(
                "spanflow: internal error while %s%s; your code is unaffected and spanflow goes "
                "on without it there (later failures here are counted in "
                "spanflow.run.internal_errors, logged at debug level)",
                where,
                suffix,
                exc_info=True,
            )
        else:
            logger.debug("spanflow: internal error while %s%s", where, suffix, exc_info=True)
        if span is not None and span.is_recording():
            span.set_attribute(attributes.INTERNAL_ERROR, where)
    except Exception:  # pragma: no cover - logging itself failed; nothing else is left to do
        pass


@contextmanager
def internal_errors(where: str, span: Any = None) -> Iterator[None]:
    """Run the block; an ``Exception`` from it is reported as spanflow's own, and swallowed."""
    try:
        yield
    except Exception:
        report_internal_error(where, span)


def internal_error_counts() -> dict[str, int]:
    """How many internal errors each place had in this process."""
    with _lock:
        return dict(_counts)


def internal_errors_total() -> int:
    """Internal errors in this process so far."""
    return _total


def remember_run_start(root: Span) -> None:
    """Note the process's count as a run root starts (read back by ``stamp_run``)."""
    with _lock:
        _run_baselines[root.get_span_context().span_id] = _total


def stamp_run(root: Span) -> None:
    """Set ``spanflow.run.internal_errors`` on a run root about to end, when any happened."""
    with _lock:
        baseline = _run_baselines.pop(root.get_span_context().span_id, None)
        happened = _total - baseline if baseline is not None else 0
    if happened > 0:
        root.set_attribute(attributes.RUN_INTERNAL_ERRORS, happened)


def reset_reported() -> None:
    """Forget the places already logged and the counts, so the next failure logs again (tests)."""
    with _lock:
        _counts.clear()
