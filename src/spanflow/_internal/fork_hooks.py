"""The one owner of ``os.register_at_fork``: spanflow's fork hooks, run in a fixed order.

A forked child inherits a copy of every object of its parent but only the thread that called
``fork()``. Queues, locks and worker threads that belonged to other threads must therefore be
reset in the child, and locks an exporter thread may hold mid-request must be taken before the
fork so the child never inherits one held. Each part of spanflow registers its hooks here, under
a :class:`ForkStage`; this module registers with ``os.register_at_fork`` once per process (a
forked child inherits that registration) and runs the hooks in stage order:

* ``before`` (in the parent), lowest stage first: locks are taken outer before inner, the order
  the code nests them (an export holds the pipeline lock while its transport sends), so the
  forking thread never waits for a lock held by a thread that waits for one it holds;
* ``after_in_parent``, highest stage first: the locks are released inner before outer;
* ``after_in_child``, lowest stage first: the lowest layers start afresh before what sits on
  them — record ids and export locks, then transports, then the record queues that feed them,
  then the run's liveness (heartbeats are queued records), then dataflow detection and a replay
  session's tally, which are about the user's program rather than delivery.

Hooks tied to an object (an exporter, a queue) hold it weakly and disappear with it; module-level
resets (``register_in_child``) stay for the life of the process. A hook that fails is reported
and the others still run.
"""

from __future__ import annotations

import enum
import itertools
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from spanflow._internal.guard import report_internal_error

Owner = TypeVar("Owner")


class ForkStage(enum.IntEnum):
    """When a hook runs relative to the others; see the module docstring for why this order."""

    RECORD_IDS = 10
    EXPORT_LOCK = 20
    TRANSPORT = 30
    RECORD_QUEUE = 40
    LIVENESS = 50
    DATAFLOW = 60
    REPLAY = 70


@dataclass(frozen=True)
class _Hook(Generic[Owner]):
    stage: ForkStage
    sequence: int  # registration order, among hooks of one stage
    owner: Callable[[], Owner | None]  # a weak reference, or a function returning a constant
    before: Callable[[Owner], object] | None
    after_in_parent: Callable[[Owner], object] | None
    after_in_child: Callable[[Owner], object] | None

    def run(self, step: Callable[[Owner], object] | None, where: str) -> None:
        if step is None:
            return
        owner = self.owner()
        if owner is None:
            return
        try:
            step(owner)
        except Exception:
            report_internal_error(where)


_lock = threading.Lock()
_hooks: list[_Hook[Any]] = []
_sequence = itertools.count()
_registered_with_os = False


def register(
    stage: ForkStage,
    owner: Owner,
    *,
    before: Callable[[Owner], object] | None = None,
    after_in_parent: Callable[[Owner], object] | None = None,
    after_in_child: Callable[[Owner], object] | None = None,
) -> None:
    """Run the given steps on ``owner`` around every ``fork()`` of this process, at ``stage``.

    ``owner`` is held weakly: its hooks go away with it, so an exporter or a queue that is
    closed and dropped is not kept alive by its fork hooks.

    Args:
        stage: Where the hooks run among spanflow's others.
        owner: What each step receives (anything a weak reference can point to).
        before: In the parent, just before the fork.
        after_in_parent: In the parent, just after the fork.
        after_in_child: In the child, just after the fork.
    """
    _add(stage, weakref.ref(owner), before, after_in_parent, after_in_child)


def hold_lock(stage: ForkStage, owner: object, attribute: str) -> None:
    """Take the lock ``owner.<attribute>`` before every fork and release it after, in the parent;
    give the child a fresh one. A fork then waits for whatever the lock guards, so the child never
    inherits it half done, and no thread of the parent holds the child's lock."""
    register(
        stage,
        owner,
        before=lambda me: getattr(me, attribute).acquire(),
        after_in_parent=lambda me: getattr(me, attribute).release(),
        after_in_child=lambda me: setattr(me, attribute, threading.Lock()),
    )


def register_in_child(stage: ForkStage, reset: Callable[[], None]) -> None:
    """Call ``reset()`` in every forked child, at ``stage``; held for the life of the process."""
    _add(stage, lambda: reset, None, None, lambda function: function())


def _add(
    stage: ForkStage,
    owner: Callable[[], Any],
    before: Callable[[Any], object] | None,
    after_in_parent: Callable[[Any], object] | None,
    after_in_child: Callable[[Any], object] | None,
) -> None:
    global _hooks
    hook = _Hook(stage, next(_sequence), owner, before, after_in_parent, after_in_child)
    with _lock:
        live = [each for each in _hooks if each.owner() is not None]
        _hooks = sorted([*live, hook], key=lambda each: (each.stage, each.sequence))
        _register_with_os()


def _register_with_os() -> None:
    global _registered_with_os
    if _registered_with_os or not hasattr(os, "register_at_fork"):  # POSIX only
        return
    os.register_at_fork(
        before=_run_before, after_in_parent=_run_after_in_parent, after_in_child=_run_in_child
    )
    _registered_with_os = True


# The hooks of the fork under way, read once before it: a hook registered by another thread
# meanwhile must not release a lock its ``before`` step never took. No lock is taken to read:
# _add() replaces the list instead of changing it, and in a forked child _lock may be held by a
# thread that no longer exists.
_forking: list[_Hook[Any]] = []


def _run_before() -> None:
    global _forking
    _forking = _hooks
    for hook in _forking:
        hook.run(hook.before, "preparing spanflow for a fork")


def _run_after_in_parent() -> None:
    for hook in reversed(_forking):
        hook.run(hook.after_in_parent, "resuming spanflow after a fork")


def _run_in_child() -> None:
    global _hooks, _lock
    _lock = threading.Lock()
    _hooks = [hook for hook in _hooks if hook.owner() is not None]
    for hook in _forking:
        hook.run(hook.after_in_child, "resetting spanflow in a forked child")
