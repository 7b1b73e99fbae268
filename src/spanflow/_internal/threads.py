"""Carry the current run into threads and thread pools, reversibly.

Python threads start with an empty ``contextvars`` context, so a span started in a thread the
user spawned inside a run would belong to no run. While spanflow is configured (with
``propagate_context=True``, the default) two methods are wrapped:

* ``threading.Thread.start``: when a run is current, the new thread runs inside the
  OpenTelemetry context of the code that started it (its run and its current span);
* ``concurrent.futures.ThreadPoolExecutor.submit``: every work item runs inside the context of
  the code that submitted it. Pool threads are reused across runs, so the context is taken at
  each ``submit``, never at thread creation — a work item is never attributed to the run that
  happened to create the pool thread.

``uninstall()`` puts the original methods back.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from opentelemetry import context as otel_context

from spanflow._internal import inherit
from spanflow._internal.membership import run_in_context

_lock = threading.Lock()
_originals: dict[str, Any] = {}


def call_in_context(
    context: otel_context.Context, function: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> Any:
    """Call ``function`` with ``context`` attached, then restore the caller's context."""
    token = otel_context.attach(context)
    try:
        return function(*args, **kwargs)
    finally:
        otel_context.detach(token)


def _start_in_run(
    original_start: Callable[[threading.Thread], None],
) -> Callable[[threading.Thread], None]:
    @functools.wraps(original_start)
    def start(self: threading.Thread) -> None:
        context = otel_context.get_current()
        if run_in_context(context) is not None:
            target_run = self.run
            self.run = functools.partial(call_in_context, context, target_run)  # type: ignore[method-assign]
        original_start(self)

    return start


def _submit_in_context(original_submit: Callable[..., Future[Any]]) -> Callable[..., Future[Any]]:
    @functools.wraps(original_submit)
    def submit(
        self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Future[Any]:
        wrapped = functools.partial(call_in_context, otel_context.get_current(), fn)
        return original_submit(self, wrapped, *args, **kwargs)

    return submit


def install() -> None:
    """Wrap ``Thread.start`` and ``ThreadPoolExecutor.submit`` (idempotent)."""
    with _lock:
        if _originals:
            return
        _originals["start"] = threading.Thread.start
        _originals["submit"] = ThreadPoolExecutor.submit
        threading.Thread.start = _start_in_run(_originals["start"])  # type: ignore[method-assign,assignment]
        ThreadPoolExecutor.submit = _submit_in_context(_originals["submit"])  # type: ignore[method-assign]
    inherit.install()


def uninstall() -> None:
    """Restore the original methods (idempotent)."""
    with _lock:
        if not _originals:
            return
        threading.Thread.start = _originals.pop("start")  # type: ignore[method-assign]
        ThreadPoolExecutor.submit = _originals.pop("submit")  # type: ignore[method-assign]
    inherit.uninstall()


def installed() -> bool:
    """Whether the wrappers are in place."""
    return bool(_originals)
