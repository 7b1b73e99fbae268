"""What a replay changes about the runs the replayed program opens, and replays started by plan.

A top-level run opened while a replay is active gets the overridden params (so ``r.params``
shows them) and the run attribute ``replay_of``; a subrun gets the overrides of the params it
declares. ``spanflow replay`` starts the program with
``SPANFLOW_REPLAY`` naming a plan file; the program's first run (or ``instrument()``) activates
that replay, and at exit each process of the program writes its tally into the folder the plan
names, for the command to add up and print.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import threading
from typing import TYPE_CHECKING, Any

from spanflow import attributes
from spanflow._internal import fork_hooks, ids, settings
from spanflow._internal.fork_hooks import ForkStage
from spanflow.replaying import _state, _transport
from spanflow.replaying._index import ReplayError, load_run
from spanflow.replaying._launch import launch_record, launch_wanted
from spanflow.replaying._session import ReplaySession

if TYPE_CHECKING:
    from spanflow._internal.lifecycle import RunSpec

_from_environment_done = False
_environment_lock = threading.Lock()
_replay_run_ids: list[str] = []


def adjust_run_spec(spec: RunSpec, *, top_level: bool) -> RunSpec:
    """``spec`` with the active replay's params and link, and a launch record when wanted.

    Raises:
        ReplayError: a replay plan given by ``spanflow replay`` cannot be started.
    """
    activate_from_environment()
    session = _state.active_session()
    if spec.resume is not None:
        return spec
    if not top_level:
        # A subrun takes the overrides of the params it declares (a program run by
        # `spanflow record` opens its own runs inside the recorded one).
        if session is None or not session.params.keys() & spec.params.keys():
            return spec
        declared = {key: session.params.get(key, value) for key, value in spec.params.items()}
        return dataclasses.replace(spec, params=declared)
    extra: dict[str, Any] = {}
    params = spec.params
    run_id = spec.run_id
    if session is not None:
        params = {**spec.params, **session.params}
        extra[attributes.REPLAY_OF_RUN_ATTRIBUTE] = session.recorded.run_id
        run_id = run_id or ids.source().new_run_id()
        _replay_run_ids.append(run_id)
    if launch_wanted() and attributes.LAUNCH_RUN_ATTRIBUTE not in spec.extra_attributes:
        extra[attributes.LAUNCH_RUN_ATTRIBUTE] = launch_record()
    if not extra:
        return spec
    return dataclasses.replace(
        spec, params=params, run_id=run_id, extra_attributes={**spec.extra_attributes, **extra}
    )


def activate_from_environment() -> None:
    """Start the replay ``SPANFLOW_REPLAY`` names, once per process.

    Raises:
        ReplayError: the plan is unreadable or its run cannot be replayed.
    """
    global _from_environment_done
    if _from_environment_done:
        return
    with _environment_lock:
        if _from_environment_done:
            return
        _from_environment_done = True
        # A setting that only the environment sets, so each child process of the replayed
        # program (which inherits the variable) replays too.
        plan_path = settings.current().replay_plan
        if not plan_path:
            return
        try:
            with open(plan_path, encoding="utf-8") as plan_file:
                plan = json.load(plan_file)
        except (OSError, ValueError) as exc:
            raise ReplayError(f"cannot read the replay plan {plan_path}: {exc}") from exc
        session = ReplaySession(
            load_run(plan["run_id"], plan.get("source")),
            edits=plan.get("edits") or {},
            params=plan.get("params") or {},
            miss=plan.get("miss", "live"),
        )
        _state.activate(session)
        _transport.install()
        summary_dir = plan.get("summary_dir")
        if summary_dir:
            _write_tallies(session, summary_dir)


def _write_tallies(session: ReplaySession, summary_dir: str) -> None:
    """Write this process's tally at exit, and make forked children write their own.

    A forked child counts only its own calls. A ``multiprocessing`` child leaves through
    ``os._exit()``, past ``atexit``, and drops the finalizers it inherited; one registered
    after it started still runs.
    """
    import multiprocessing.util  # imported here: only a replayed program needs it

    def forked() -> None:
        session.restart_tally()
        _replay_run_ids.clear()

    def worker_started(session: ReplaySession) -> None:
        multiprocessing.util.Finalize(
            None, _write_summary, args=(session, summary_dir), exitpriority=10
        )

    atexit.register(_write_summary, session, summary_dir)
    fork_hooks.register_in_child(ForkStage.REPLAY, forked)
    multiprocessing.util.register_after_fork(session, worker_started)


def _write_summary(session: ReplaySession, summary_dir: str) -> None:
    """Write this process's tally as ``summary-<pid>.json``; the command adds them up.

    Each process of the replayed program (children started with ``subprocess`` or
    ``multiprocessing`` replay too) writes its own file, so none overwrites another's.
    """
    path = os.path.join(summary_dir, f"summary-{os.getpid()}.json")
    if os.path.exists(path):
        return  # written already (a forked child's finalizer, then its inherited atexit hook)
    summary = dataclasses.asdict(session.summary())
    summary["replay_run_ids"] = list(_replay_run_ids)
    try:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(summary, out)
    except OSError:
        pass  # the command then says it has no tally; the run itself is in the index
