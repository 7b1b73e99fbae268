"""spanflow's user-facing warnings and the log-once helper for its own internal failures."""

from __future__ import annotations

import logging
import threading
import warnings

logger = logging.getLogger("spanflow")

_warned_keys: set[str] = set()
_logged_keys: set[str] = set()
_lock = threading.Lock()


class SpanflowWarning(UserWarning):
    """A call to spanflow could not do what was asked (e.g. ``log_metric`` outside a run)."""


def warn(message: str, *, stacklevel: int = 3) -> None:
    """Issue a :class:`SpanflowWarning` pointing at the user's call site."""
    warnings.warn(message, SpanflowWarning, stacklevel=stacklevel + 1)


def warn_once(key: str, message: str, *, stacklevel: int = 3) -> None:
    """Like :func:`warn`, but only the first time ``key`` is seen in this process."""
    with _lock:
        if key in _warned_keys:
            return
        _warned_keys.add(key)
    warn(message, stacklevel=stacklevel + 1)


def log_internal_error_once(key: str, message: str) -> None:
    """Log a failure inside spanflow once per ``key``, with its traceback; never raises."""
    with _lock:
        first = key not in _logged_keys
        _logged_keys.add(key)
    if first:
        logger.warning("spanflow: %s (further occurrences are not logged)", message, exc_info=True)


def reset_once_registry() -> None:
    """Forget which warnings were issued, so they show again (used by the test capture)."""
    with _lock:
        _warned_keys.clear()
        _logged_keys.clear()
