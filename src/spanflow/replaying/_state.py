"""The replay in force in this process (one at a time, seen by every thread)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spanflow.replaying._session import ReplaySession

# Process-wide on purpose: a context variable would not reach threads and pools the replayed
# program starts, and matching must not depend on which thread makes a call.
_active: ReplaySession | None = None
_lock = threading.Lock()


def active_session() -> ReplaySession | None:
    """The replay answering LLM calls now, if any."""
    return _active


def activate(session: ReplaySession) -> None:
    """Make ``session`` answer LLM calls.

    Raises:
        RuntimeError: another replay is already active.
    """
    global _active
    with _lock:
        if _active is not None:
            raise RuntimeError("a spanflow replay is already active in this process")
        _active = session


def deactivate(session: ReplaySession) -> None:
    """Stop ``session`` answering (no-op when another one is active)."""
    global _active
    with _lock:
        if _active is session:
            _active = None
