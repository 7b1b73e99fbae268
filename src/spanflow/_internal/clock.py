"""The clock spanflow reads for its own timestamps (swapped for a fixed clock in tests)."""

from __future__ import annotations

import time
from collections.abc import Callable

_time_ns: Callable[[], int] = time.time_ns


def time_ns() -> int:
    """Nanoseconds since the epoch, from the current clock source."""
    return _time_ns()


def set_clock(source: Callable[[], int] | None) -> Callable[[], int]:
    """Replace the clock (``None`` restores wall-clock time); returns the previous source."""
    global _time_ns
    previous = _time_ns
    _time_ns = source if source is not None else time.time_ns
    return previous
