"""Turning off the ``anthropic`` SDK's own call span for the calls spanflow traces.

``anthropic`` (1.14 and later) reads its tracer through the ``BaseClient._tracer`` property at
the start of every ``request``; a ``None`` tracer means no SDK span (see
``anthropic/_tracing.py``). spanflow replaces that property with one that answers ``None``
while a traced call is being sent, and puts the original back on ``uninstrument()``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_in_traced_call: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "spanflow_anthropic_traced_call", default=False
)


class SdkSpanSwitch:
    """Installs and removes the ``_tracer`` property override on the SDK's base client."""

    def __init__(self) -> None:
        self._original: Any = None

    def install(self, base_client: type[Any]) -> None:
        """Override ``base_client._tracer`` (a no-op on SDKs that do not trace themselves)."""
        original = base_client.__dict__.get("_tracer")
        if (
            not isinstance(original, property)
            or original.fget is None
            or self._original is not None
        ):
            return
        getter = original.fget

        def tracer_unless_traced_by_spanflow(client: Any) -> Any:
            if _in_traced_call.get():
                return None
            return getter(client)

        self._original = original
        base_client._tracer = property(tracer_unless_traced_by_spanflow)

    def uninstall(self, base_client: type[Any]) -> None:
        """Put the SDK's own ``_tracer`` property back."""
        if self._original is not None:
            base_client._tracer = self._original
            self._original = None

    @staticmethod
    @contextmanager
    def suppressed() -> Iterator[None]:
        """While open, ``anthropic`` clients in this context start no span of their own."""
        token = _in_traced_call.set(True)
        try:
            yield
        finally:
            _in_traced_call.reset(token)
