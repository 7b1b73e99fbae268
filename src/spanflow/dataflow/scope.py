"""Which run a traced call belongs to, for the dataflow index: ``call_scope(span)``.

Inside a run the scope is the run id, with the run's ancestors so that a subrun can consume its
parent's outputs and the parent its subruns' outputs. Outside any run:

* a call inside some trace (a web request's server span, a user span) is scoped to that trace,
  so two requests served by one process never link to each other;
* a call that is itself a trace root (a script calling the client at top level) shares one
  process-wide scope with the other root calls of the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spanflow._internal import membership
from spanflow.attributes import RUN_ID

PROCESS_SCOPE = "process"
TRACE_SCOPE_PREFIX = "trace:"

_declared_parents: dict[str, str | None] = {}


@dataclass(frozen=True)
class CallScope:
    """A call's run key and its ancestors' keys, nearest first."""

    key: str
    ancestors: tuple[str, ...] = ()


def declare_run(run_id: str, parent_id: str | None) -> None:
    """Tell the detector a run's parent when no run handle says it (e.g. another process)."""
    _declared_parents[run_id] = parent_id


def call_scope(span: Any) -> CallScope:
    """The scope of a call whose span has just started."""
    handle = _current_run_handle()
    run_id = _run_id_of(handle) if handle is not None else None
    if run_id is not None:
        return CallScope(run_id, _ancestors_of(handle, run_id))
    attributes = getattr(span, "attributes", None)
    stamped = attributes.get(RUN_ID) if attributes is not None else None
    if isinstance(stamped, str) and stamped:
        return CallScope(stamped, _declared_ancestors(stamped))
    context = span.get_span_context()
    if getattr(span, "parent", None) is None:
        return CallScope(PROCESS_SCOPE)
    return CallScope(f"{TRACE_SCOPE_PREFIX}{context.trace_id:032x}")


def _current_run_handle() -> Any:
    try:
        return membership.current_run()
    except Exception:
        return None


def _run_id_of(handle: Any) -> str | None:
    for name in ("id", "run_id"):
        value = getattr(handle, name, None)
        if isinstance(value, str) and value:
            return value
    return None


def _ancestors_of(handle: Any, run_id: str) -> tuple[str, ...]:
    chain: list[str] = []
    parent_handle = getattr(handle, "parent", None)
    while parent_handle is not None and len(chain) < 64:
        parent_id = _run_id_of(parent_handle)
        if parent_id is None or parent_id in chain:
            break
        chain.append(parent_id)
        parent_handle = getattr(parent_handle, "parent", None)
    if not chain:
        parent_id = getattr(handle, "parent_id", None)
        if isinstance(parent_id, str) and parent_id:
            chain.append(parent_id)
    if chain:
        chain.extend(a for a in _declared_ancestors(chain[-1]) if a not in chain)
        return tuple(chain)
    return _declared_ancestors(run_id)


def _declared_ancestors(run_id: str) -> tuple[str, ...]:
    chain: list[str] = []
    parent = _declared_parents.get(run_id)
    while parent is not None and parent not in chain and len(chain) < 64:
        chain.append(parent)
        parent = _declared_parents.get(parent)
    return tuple(chain)
