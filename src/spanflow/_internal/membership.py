"""Which run is current: the one in the OpenTelemetry context, or one a parent process passed.

A run lives in the OpenTelemetry ``Context`` (itself a ``contextvars`` variable), next to the
current span. So it follows ``asyncio`` tasks, is copied into threads together with the span
(see ``threads.py``), and the run of a span is the run of the context it was started in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Span

from spanflow import attributes
from spanflow._internal import parent_run

if TYPE_CHECKING:
    from spanflow._internal.handle import RunHandle

RUN_CONTEXT_KEY = otel_context.create_key("spanflow-run")


def run_in_context(context: Context | None = None) -> RunHandle | None:
    """The run stored in ``context`` (default: the current context), without fallbacks."""
    found: RunHandle | None = otel_context.get_value(RUN_CONTEXT_KEY, context)  # type: ignore[assignment]
    # A run finished from another thread is still in its opener's context: skip to the run
    # that was current before it (see ``run._finish_started``).
    while found is not None and found._left_in_context:
        found = found._outer
    return found


def current_run() -> RunHandle | None:
    """The run the caller is inside: from the context, else the one a parent process passed on.

    Returns:
        A :class:`~spanflow.RunHandle`, or ``None`` outside any run.
    """
    found = run_in_context()
    if found is not None:
        return found
    return parent_run.inherited_run()


def stamp_run_id(span: Span, parent_context: Context | None) -> None:
    """Set ``spanflow.run.id`` on ``span`` from the context it starts in (processor hook)."""
    if not span.is_recording():
        return
    if span.attributes is not None and attributes.RUN_ID in span.attributes:
        return
    found = run_in_context(parent_context)
    if found is None:
        found = parent_run.inherited_run()
    if found is not None:
        span.set_attribute(attributes.RUN_ID, found.id)
