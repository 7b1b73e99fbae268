"""Start a ``multiprocessing`` child inside its parent's run, and deliver its spans when it exits.

A ``multiprocessing`` child made by fork or forkserver leaves through ``os._exit()``, so the
``atexit`` hook where spanflow flushes never runs there. And a spawned child re-imports
``__main__`` before its ``Process`` object (which carries the parent's run, see
``inherit.py``) arrives, so a ``configure()`` or ``instrument()`` at module top level runs
before the parent's run is known.

While spanflow is configured, ``ChildExitInstrumentor`` wraps ``BaseProcess._bootstrap`` (what
every child runs: it calls the target, then multiprocessing's exit finalizers). In the child,
the wrapper

* makes the parent's run and span current before the target runs, unless a span is current
  already (a forked child inherits its parent's context);
* puts back SIGTERM's own action in place of spanflow's handler: ``terminate()`` must end a
  child at once, and a Python-level handler can miss the signal while the main thread waits
  in C (see ``exit_hooks.remove_sigterm_handler``). A child ended that way loses only what
  its current task had not delivered yet; the index marks its open runs ``interrupted`` when
  their heartbeats stop;
* after the target and the exit finalizers, ends the child's open runs as interrupted and
  flushes (waiting at most ``CHILD_EXIT_FLUSH_TIMEOUT_S``), as the ``atexit`` hook does in a
  main process.

The wrapper reaches a forked child through memory, a forkserver child through the server (which
imports ``__main__``), and a spawned child when ``__main__`` configures spanflow at import. A
child that configures spanflow only inside its target registers the same flush as a
multiprocessing exit finalizer (``util.Finalize``) instead. :func:`uninstall` undoes both.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
import multiprocessing.util
import os
import threading
import time
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from spanflow._internal import (
    exit_hooks,
    inherit,
    otlp_shared,
    otlp_transport,
    parent_run,
    provider_state,
)
from spanflow._internal.guard import report_internal_error
from spanflow._internal.process_instrumentor import MethodPatch, ProcessInstrumentor

CHILD_EXIT_FLUSH_TIMEOUT_S = 5.0
_SPOOL_WAIT_S = 0.5  # for a spool write under way when the flush gave up
# Run after finalizers with a higher priority (a Queue's feeder thread has 10), so spans those
# still make go out too.
_EXIT_PRIORITY = 0

_lock = threading.Lock()
_wrapped_bootstrap_pid: int | None = None  # this child runs inside the wrapper
_finalizer: multiprocessing.util.Finalize | None = None
_finalizer_pid: int | None = None


def _flush_at_child_exit() -> None:
    # Not shut down: the process ends next, and a forked child must not close what it shares
    # with its parent (an index connection, a socket). Its OTLP transports are its own, though:
    # closing them spools what an endpoint did not take in time, as exit does in a main process.
    try:
        otlp_transport.set_exit_deadline(time.monotonic() + CHILD_EXIT_FLUSH_TIMEOUT_S)
        exit_hooks.end_open_runs_as_interrupted()
        provider_state.force_flush(CHILD_EXIT_FLUSH_TIMEOUT_S)
        otlp_shared.spool_unsent(_SPOOL_WAIT_S)
    except Exception:
        report_internal_error("flushing a child process's spans at exit")


def _drop_sigterm_handler() -> None:
    try:
        exit_hooks.remove_sigterm_handler()
    except Exception:
        report_internal_error("restoring SIGTERM in a child")


def _enter_parent_run(process: multiprocessing.process.BaseProcess) -> None:
    try:
        if trace.get_current_span().get_span_context().is_valid:
            return
        carrier = getattr(process, parent_run.PROCESS_ATTRIBUTE, None)
        context = inherit.context_from_carrier(carrier) if isinstance(carrier, dict) else None
        if context is not None:
            otel_context.attach(context)  # for the rest of the process: never detached
    except Exception:
        report_internal_error("entering the parent's run in a child")


def _bootstrap(
    wrapped: Any,
    instance: multiprocessing.process.BaseProcess,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    global _wrapped_bootstrap_pid
    _wrapped_bootstrap_pid = os.getpid()
    _drop_sigterm_handler()
    _enter_parent_run(instance)
    try:
        return wrapped(*args, **kwargs)
    finally:
        _flush_at_child_exit()


class ChildExitInstrumentor(ProcessInstrumentor):
    """In every ``multiprocessing`` child: the parent's run, default SIGTERM, a flush at exit."""

    patches = (MethodPatch(multiprocessing.process.BaseProcess, "_bootstrap", _bootstrap),)


def install() -> None:
    """Wrap ``BaseProcess._bootstrap``; inside a running child, flush at its exit (idempotent)."""
    global _finalizer, _finalizer_pid
    with _lock:
        ChildExitInstrumentor().ensure(instrumented=True)
        pid = os.getpid()
        in_child = multiprocessing.parent_process() is not None
        if in_child:
            _drop_sigterm_handler()
        in_unwrapped_child = in_child and _wrapped_bootstrap_pid != pid
        if in_unwrapped_child and _finalizer_pid != pid:
            # Configured inside a child's target: its exit finalizers still run.
            _finalizer = multiprocessing.util.Finalize(
                None, _flush_at_child_exit, exitpriority=_EXIT_PRIORITY
            )
            _finalizer_pid = pid


def uninstall() -> None:
    """Restore ``_bootstrap`` and cancel this process's exit finalizer (idempotent)."""
    global _finalizer, _finalizer_pid
    with _lock:
        ChildExitInstrumentor().ensure(instrumented=False)
        if _finalizer is not None and _finalizer_pid == os.getpid():
            _finalizer.cancel()
        _finalizer = None
        _finalizer_pid = None


def installed() -> bool:
    """Whether children started from now on deliver their spans at exit."""
    return bool(ChildExitInstrumentor().is_instrumented_by_opentelemetry)
