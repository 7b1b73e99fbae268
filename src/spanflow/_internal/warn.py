"""spanflow's user-facing warnings: user misuse is a ``SpanflowWarning``, once per place.

spanflow's own failures are not warnings: they go through ``spanflow._internal.guard``.
"""

from __future__ import annotations

import logging
import threading
import warnings

logger = logging.getLogger("spanflow")

_warned_keys: set[str] = set()
_lock = threading.Lock()


class SpanflowWarning(UserWarning):
    """A call to spanflow could not do what was asked (e.g. ``log_metric`` outside a run)."""


class SpanflowDeprecationWarning(SpanflowWarning, DeprecationWarning):
    """A spanflow name that was renamed still works, but will go: use the new one.

    A ``DeprecationWarning`` too, so Python's default filters show it for code run as
    ``__main__`` and test runners show it; ``SpanflowWarning`` filters catch it as well.
    """


def warn(
    message: str, *, stacklevel: int = 3, category: type[SpanflowWarning] = SpanflowWarning
) -> None:
    """Issue a :class:`SpanflowWarning` (or ``category``) pointing at the user's call site."""
    warnings.warn(message, category, stacklevel=stacklevel + 1)


def warn_once(
    key: str,
    message: str,
    *,
    stacklevel: int = 3,
    category: type[SpanflowWarning] = SpanflowWarning,
) -> None:
    """Like :func:`warn`, but only the first time ``key`` is seen in this process."""
    with _lock:
        if key in _warned_keys:
            return
        _warned_keys.add(key)
    warn(message, stacklevel=stacklevel + 1, category=category)


def reset_once_registry() -> None:
    """Forget which warnings were issued, so they show again (used by the test capture)."""
    with _lock:
        _warned_keys.clear()
