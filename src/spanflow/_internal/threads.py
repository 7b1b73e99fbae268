"""Carry the current run into threads and thread pools: ``ThreadPropagationInstrumentor``.

Python threads start with an empty ``contextvars`` context, so a span started in a thread the
user spawned inside a run would belong to no run. While spanflow is configured (with
``propagate_context=True``, the default) the instrumentor wraps two methods:

* ``threading.Thread.start``: when a run is current, the new thread runs inside the
  OpenTelemetry context of the code that started it (its run and its current span);
* ``concurrent.futures.ThreadPoolExecutor.submit``: every work item runs inside the context of
  the code that submitted it. Pool threads are reused across runs, so the context is taken at
  each ``submit``, never at thread creation — a work item is never attributed to the run that
  happened to create the pool thread.

Under OpenTelemetry's ``suppress_instrumentation`` the wrappers still carry the context, and the
suppression with it: work handed to a thread stays suppressed, as it would be had it run inline.
Stepping aside instead would start the thread with an empty context, where instrumentation is on
again. So ``Thread.start`` also carries a suppressed context outside runs.

A failure inside a wrapper is reported and the thread starts (the item is submitted) as without
spanflow. ``uninstrument()`` puts the original methods back (see ``process_instrumentor.py``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from spanflow._internal.guard import report_internal_error
from spanflow._internal.membership import run_in_context
from spanflow._internal.process_instrumentor import MethodPatch, ProcessInstrumentor


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
    wrapped: Any, instance: threading.Thread, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    try:
        context = otel_context.get_current()
        if run_in_context(context) is not None or not is_instrumentation_enabled():
            instance.run = functools.partial(call_in_context, context, instance.run)  # type: ignore[method-assign]
    except Exception:
        report_internal_error("passing the run to a thread")
    return wrapped(*args, **kwargs)


def _submit_in_context(
    wrapped: Any, instance: ThreadPoolExecutor, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    if args:
        try:
            fn, *rest = args
            args = (functools.partial(call_in_context, otel_context.get_current(), fn), *rest)
        except Exception:
            report_internal_error("passing the run to a thread pool")
    return wrapped(*args, **kwargs)


class ThreadPropagationInstrumentor(ProcessInstrumentor):
    """Runs threads and ``ThreadPoolExecutor`` work items in the run that started them."""

    patches = (
        MethodPatch(threading.Thread, "start", _start_in_run),
        MethodPatch(ThreadPoolExecutor, "submit", _submit_in_context),
    )


def installed() -> bool:
    """Whether threads and thread pools carry the current run."""
    return bool(ThreadPropagationInstrumentor().is_instrumented_by_opentelemetry)
