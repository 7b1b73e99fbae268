"""Pool tasks run in their submitter's run and deliver their spans before their result.

A worker of ``multiprocessing.Pool`` or ``concurrent.futures.ProcessPoolExecutor`` is reused
across tasks and, often, across runs, and it may be killed once its results are in:
``Pool.terminate()`` (what ``with Pool() as pool:`` does on leaving), or a crash. So each task
submitted to such a pool is wrapped in a :class:`PoolTask`, which travels to the worker with the
task and, there:

* makes the run that was current where the task was *submitted* current while it runs (not the
  run that happened to be current when the worker started), so its spans join that run and a
  run it opens is that run's subrun;
* when the task ended spans (or sent run records), flushes spanflow's exporters before
  returning, so the result reaches the parent only after the task's spans left the worker.
  The flush waits at most ``TASK_FLUSH_TIMEOUT_S``; after a flush that timed out, the worker's
  later tasks do not wait for ``FLUSH_PAUSE_AFTER_TIMEOUT_S`` (their spans still go out in the
  background and at exit).

``PoolTaskInstrumentor`` wraps three methods (undone as ``process_instrumentor.py`` says):
``Pool.apply_async`` (behind ``apply``), ``Pool._guarded_task_generation`` (behind ``map``,
``imap``, ``imap_unordered``, ``starmap`` and their ``_async`` forms; called in the submitting
thread) and ``ProcessPoolExecutor.submit`` (behind its ``map``).
``multiprocessing.pool.ThreadPool`` runs tasks in this process: its tasks only carry the
submitter's context.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.pool import Pool, ThreadPool
from typing import Any

from opentelemetry import context as otel_context

from spanflow._internal import inherit, provider_state
from spanflow._internal.guard import report_internal_error
from spanflow._internal.process_instrumentor import MethodPatch, ProcessInstrumentor, Wrapper
from spanflow._internal.threads import call_in_context

TASK_FLUSH_TIMEOUT_S = 5.0
FLUSH_PAUSE_AFTER_TIMEOUT_S = 30.0

logger = logging.getLogger("spanflow")
_carry_context = True
_flush_paused_until = 0.0


class PoolTask:
    """A task function that runs in its submitter's run and flushes the spans it ended.

    Pickled with the task: ``function`` must be picklable as for any process pool, and
    ``carrier`` is plain strings (see :func:`spanflow._internal.inherit.carrier_for_current_run`).
    """

    def __init__(self, function: Callable[..., Any], carrier: dict[str, str]) -> None:
        self.function = function
        self.carrier = carrier

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        token: object | None = None
        ended_before = -1
        try:
            ended_before = provider_state.processor().handed_off_count
            context = inherit.context_from_carrier(self.carrier) if self.carrier else None
            if context is not None:
                token = otel_context.attach(context)
        except Exception:
            report_internal_error("entering a pool task's run")
        try:
            return self.function(*args, **kwargs)
        finally:
            try:
                if token is not None:
                    otel_context.detach(token)  # type: ignore[arg-type]
                if (
                    ended_before >= 0
                    and provider_state.processor().handed_off_count != ended_before
                ):
                    deliver_task_spans()
            except Exception:
                report_internal_error("delivering a pool task's spans")


def deliver_task_spans() -> None:
    """Flush spanflow's exporters, waiting at most ``TASK_FLUSH_TIMEOUT_S``."""
    global _flush_paused_until
    now = time.monotonic()
    if now < _flush_paused_until:
        return
    if not provider_state.force_flush(TASK_FLUSH_TIMEOUT_S):
        _flush_paused_until = time.monotonic() + FLUSH_PAUSE_AFTER_TIMEOUT_S
        logger.warning(
            "spanflow: a pool task's spans were not exported within %g s; this worker's tasks "
            "stop waiting for the exporter for %g s",
            TASK_FLUSH_TIMEOUT_S,
            FLUSH_PAUSE_AFTER_TIMEOUT_S,
        )


def _task_for(pool: object, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` wrapped for ``pool``; ``function`` itself when wrapping fails."""
    try:
        if isinstance(pool, ThreadPool):
            if not _carry_context:
                return function
            return functools.partial(call_in_context, otel_context.get_current(), function)
        return PoolTask(function, inherit.carrier_for_current_run() if _carry_context else {})
    except Exception:
        report_internal_error("preparing a pool task")
        return function


def _with_task_at(position: int) -> Wrapper:
    """A wrapper that wraps the task function, the ``position``-th argument, for its pool."""

    def submit(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if len(args) > position:
            task = _task_for(instance, args[position])
            args = (*args[:position], task, *args[position + 1 :])
        return wrapped(*args, **kwargs)

    return submit


class PoolTaskInstrumentor(ProcessInstrumentor):
    """Wraps each task given to a process pool (or ``ThreadPool``) for its submitter's run."""

    patches = (
        MethodPatch(Pool, "apply_async", _with_task_at(0)),  # (func, args, kwds, ...)
        MethodPatch(Pool, "_guarded_task_generation", _with_task_at(1)),  # (job, func, iterable)
        MethodPatch(ProcessPoolExecutor, "submit", _with_task_at(0)),  # (fn, /, *args)
    )


def install(*, carry_context: bool = True) -> None:
    """Wrap the pools' submission methods (idempotent).

    Args:
        carry_context: Whether tasks run in their submitter's run (``propagate_context``);
            they deliver their spans either way.
    """
    global _carry_context
    _carry_context = carry_context
    PoolTaskInstrumentor().ensure(instrumented=True)


def uninstall() -> None:
    """Restore the original methods (idempotent)."""
    PoolTaskInstrumentor().ensure(instrumented=False)


def installed() -> bool:
    """Whether pool tasks are wrapped."""
    return bool(PoolTaskInstrumentor().is_instrumented_by_opentelemetry)
