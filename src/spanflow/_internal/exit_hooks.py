"""The process-exit hooks: end open runs as ``interrupted`` at interpreter exit and on SIGTERM.

The one owner of spanflow's ``atexit`` hook and SIGTERM handler. ``configure()`` calls
:func:`install`; ``spanflow.shutdown()`` calls :func:`uninstall` (the exporters they flush are
closed by then), and the next ``configure()`` installs them again. A ``multiprocessing`` child
drops the SIGTERM handler at its start (``child_exit.py``, through
:func:`remove_sigterm_handler`).

The SIGTERM handler chains: a previous Python handler still runs after spanflow's, a previous
default action still kills the process. When a handler installed after spanflow's holds on to
it, uninstalling cannot take it out of that chain; it then stays there and does nothing but
pass the signal on.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from spanflow._internal import otlp_transport, provider_state
from spanflow._internal.guard import report_internal_error

_at_exit_registered = False
_installed_in_pid: int | None = None
# False after uninstall(): a handler of spanflow's still reached through another's chain only
# passes the signal on.
_sigterm_active = False
# Each SIGTERM handler spanflow installed (a forked child may chain its own on its parent's),
# with what it replaced.
_replaced_by_handler: dict[object, object] = {}


def _no_open_runs() -> int:
    return 0


# Runs open only through ``lifecycle``, which registers how to end them when it loads (the run
# model sits above these hooks); until then there is nothing to end.
_end_open_runs: Callable[[], int] = _no_open_runs


def set_open_runs_ender(ender: Callable[[], int]) -> None:
    """Called once by the run lifecycle when it loads, so the hooks can end its open runs."""
    global _end_open_runs
    _end_open_runs = ender


def end_open_runs_as_interrupted() -> int:
    """End every run this process still has open as ``interrupted``; returns how many."""
    return _end_open_runs()


def at_exit() -> None:
    """``atexit`` hook: interrupted runs, then flush and close the exporters.

    Never waits on OTLP endpoints longer than the exit bound (``exit_timeout_s``): what they
    have not accepted by then is in the spool.
    """
    try:
        bound_s = provider_state.settings().exit_timeout_s
        otlp_transport.set_exit_deadline(time.monotonic() + bound_s)
        end_open_runs_as_interrupted()
        provider_state.force_flush(bound_s)
        provider_state.shutdown()
    except Exception:
        report_internal_error("flushing spans at exit")


def install() -> None:
    """Register the ``atexit`` hook (once) and the SIGTERM handler (once per process).

    Called after the tracer provider exists: ``atexit`` runs hooks last-in, first-out, so
    spanflow's then runs before the provider's own shutdown hook.
    """
    global _at_exit_registered
    if not _at_exit_registered:
        atexit.register(at_exit)
        _at_exit_registered = True
    _install_sigterm_handler()


def uninstall() -> None:
    """Unregister the ``atexit`` hook and take spanflow's SIGTERM handler out (idempotent)."""
    global _at_exit_registered, _installed_in_pid, _sigterm_active
    atexit.unregister(at_exit)
    _at_exit_registered = False
    _sigterm_active = False
    if remove_sigterm_handler():
        _installed_in_pid = None  # gone: the next install() puts a new one in place


def _install_sigterm_handler() -> None:
    """Chain a SIGTERM handler that ends open runs as interrupted and flushes.

    Installed once per process and only from the main thread (Python allows signal handlers
    nowhere else). A previously ignored SIGTERM stays ignored; a previous Python handler is
    called afterwards; the default action is restored and the signal re-sent, so the process
    still dies of SIGTERM.
    """
    global _installed_in_pid, _sigterm_active
    if threading.current_thread() is not threading.main_thread():
        return
    if _installed_in_pid == os.getpid():
        _sigterm_active = True  # still installed, perhaps under another handler: switch it on
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_IGN or previous is None:
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> Any:
        dying = not callable(previous)
        if _sigterm_active:  # else uninstalled, but still in another handler's chain
            _end_runs_on_sigterm(dying=dying)
        if callable(previous):
            return previous(signum, frame)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return None

    signal.signal(signal.SIGTERM, on_sigterm)
    _replaced_by_handler[on_sigterm] = previous
    _installed_in_pid = os.getpid()
    _sigterm_active = True


def _end_runs_on_sigterm(*, dying: bool) -> None:
    try:
        bound_s = provider_state.settings().exit_timeout_s
        if dying:
            otlp_transport.set_exit_deadline(time.monotonic() + bound_s)
        if end_open_runs_as_interrupted():
            provider_state.force_flush(bound_s)
        if dying:
            # The default action kills the process without atexit: spool what is unsent.
            provider_state.shutdown()
    except Exception:
        report_internal_error("ending runs on SIGTERM")


def remove_sigterm_handler() -> bool:
    """Put back what SIGTERM did before spanflow's handlers, when one of them is current.

    Returns whether it did.

    For ``multiprocessing`` children: ``terminate()`` must end them. A Python-level handler
    runs only in the main thread, so when the signal lands on another thread (an exporter's)
    while the main thread waits in C (a pool worker waiting for its next task holds no GIL
    and is never woken), the child would never die. Main thread only, like any handler change.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    current: object = signal.getsignal(signal.SIGTERM)
    if current not in _replaced_by_handler:
        return False
    while current in _replaced_by_handler:
        current = _replaced_by_handler[current]
    restored: Any = current if current is not None else signal.SIG_DFL
    signal.signal(signal.SIGTERM, restored)
    return True
