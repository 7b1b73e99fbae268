"""``BackgroundWorker``: the one daemon thread that drains a sender's queue.

Shared by :class:`~spanflow._internal.otlp_transport.OtlpTransport` (encoded OTLP requests) and
:class:`~spanflow._internal.record_queue.RecordQueue` (run records). A subclass keeps its queue
under ``self._cond`` and decides, in :meth:`BackgroundWorker._next_job` (called with the
condition held), what the thread does next: a job to run outside the lock, a wait (until
notified, or at most some seconds), or stop. The thread starts on demand
(:meth:`BackgroundWorker._ensure_worker`) and exits when told to stop, so an idle sender holds no
thread. A job that raises is reported once as an internal error and handed to
:meth:`BackgroundWorker._job_failed`; the thread carries on.

A forked child starts with an empty worker (the parent sends what it queued itself); see
:func:`_reset_after_fork`.
"""

from __future__ import annotations

import enum
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from spanflow._internal import fork_hooks
from spanflow._internal.fork_hooks import ForkStage
from spanflow._internal.guard import report_internal_error

JobT = TypeVar("JobT")


class Stop(enum.Enum):
    """The type of :data:`STOP`."""

    STOP = "stop"


STOP: Literal[Stop.STOP] = Stop.STOP
"""From ``_next_job``: the thread exits (a later ``_ensure_worker`` starts a new one)."""


@dataclass(frozen=True)
class Wait:
    """From ``_next_job``: wait for a notification, at most ``seconds`` (None: no deadline)."""

    seconds: float | None


class BackgroundWorker(ABC, Generic[JobT]):
    """A queue under ``self._cond`` drained by one lazily started daemon thread.

    Args:
        thread_name: The worker thread's name.
        failure_context: What the thread was doing, for the internal-error report.
        fork_stage: Where its fork hooks run among spanflow's others (see ``fork_hooks``).
        hold_send_lock_across_fork: ``fork()`` waits until ``self._send_lock`` is free. Set it
            when the lock is held while a request is on the wire: a thread caught mid-request
            can hold an import lock (HTTP clients import lazily) or a connection-pool lock,
            and a child forked at that moment deadlocks on its first send.
    """

    def __init__(
        self,
        *,
        thread_name: str,
        failure_context: str,
        fork_stage: ForkStage,
        hold_send_lock_across_fork: bool = False,
    ) -> None:
        self._thread_name = thread_name
        self._failure_context = failure_context
        self._hold_send_lock_across_fork = hold_send_lock_across_fork
        self._send_lock = threading.Lock()
        self._start_empty()
        _reset_after_fork(self, fork_stage)

    def _start_empty_in_child(self) -> None:
        self._send_lock = threading.Lock()
        self._start_empty()

    def _start_empty(self) -> None:
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._reset()

    @abstractmethod
    def _reset(self) -> None:
        """Set the subclass's queue state to empty (at construction and in a forked child)."""

    @abstractmethod
    def _next_job(self) -> JobT | Wait | Literal[Stop.STOP]:
        """With ``self._cond`` held: the next job, a :class:`Wait`, or :data:`STOP`."""

    @abstractmethod
    def _run_job(self, job: JobT) -> None:
        """Do ``job``, without ``self._cond`` held."""

    def _job_failed(self, job: JobT) -> None:
        """After ``_run_job(job)`` raised (already reported): settle what the job left open."""

    def _ensure_worker(self) -> None:
        """With ``self._cond`` held: start the thread unless it runs or the worker is closed."""
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._work, name=self._thread_name, daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                step = self._next_job()
                while isinstance(step, Wait):
                    self._cond.wait(step.seconds)
                    step = self._next_job()
                if step is STOP:
                    self._thread = None  # a later _ensure_worker starts a new thread
                    return
            try:
                self._run_job(step)
            except Exception:
                report_internal_error(self._failure_context)
                self._job_failed(step)


def _reset_after_fork(worker: BackgroundWorker[Any], stage: ForkStage) -> None:
    """Empty ``worker`` in a forked child; with ``hold_send_lock_across_fork``, fork() waits
    for its send lock. Registered at ``stage`` of the fork-hook registry, which holds the worker
    weakly."""
    hold = worker._hold_send_lock_across_fork
    fork_hooks.register(
        stage,
        worker,
        before=(lambda me: me._send_lock.acquire()) if hold else None,
        after_in_parent=(lambda me: me._send_lock.release()) if hold else None,
        after_in_child=BackgroundWorker._start_empty_in_child,
    )
