"""spanflow's one fork-hook registry: every hook runs once per real ``os.fork``, in stage order."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from tests.environments import child_environment

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="os.fork is POSIX only")

# Registers recording hooks out of stage order, then forks once. The child prints what its hooks
# did and leaves; the parent prints its own, so the test sees both sides of one fork.
FORK_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from spanflow._internal import fork_hooks
    from spanflow._internal.fork_hooks import ForkStage

    calls = []

    class Part:
        def __init__(self, name):
            self.name = name

    def record(step):
        return lambda part: calls.append(f"{step}:{part.name}")

    def broken(part):
        raise RuntimeError("a reset that fails")

    parts = {}
    for stage, name in [
        (ForkStage.REPLAY, "replay"),
        (ForkStage.LIVENESS, "liveness"),
        (ForkStage.RECORD_QUEUE, "queue"),
        (ForkStage.TRANSPORT, "transport"),
        (ForkStage.EXPORT_LOCK, "export"),
        (ForkStage.RECORD_IDS, "ids"),
    ]:
        parts[name] = Part(name)
        fork_hooks.register(
            stage,
            parts[name],
            before=record("before"),
            after_in_parent=record("parent"),
            after_in_child=record("child"),
        )
    broken_part = Part("broken")
    fork_hooks.register(ForkStage.DATAFLOW, broken_part, after_in_child=broken)
    fork_hooks.register_in_child(ForkStage.DATAFLOW, lambda: calls.append("child:dataflow"))
    gone = Part("gone")
    fork_hooks.register(ForkStage.RECORD_IDS, gone, after_in_child=record("child"))
    del gone  # its hooks go with it

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        from spanflow._internal.guard import internal_error_counts
        failures = internal_error_counts().get("resetting spanflow in a forked child", 0)
        os.write(write_end, json.dumps(calls + [f"failures:{failures}"]).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child_calls = json.loads(pipe.read())
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"child": child_calls, "parent": calls,
                      "exit": os.waitstatus_to_exitcode(status)}))
    """
)


def test_a_forked_child_runs_each_registered_reset_once_in_stage_order() -> None:
    """Before/after hooks nest in stage order and each child reset runs once, failures aside."""
    finished = subprocess.run(
        [sys.executable, "-c", FORK_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_environment(),
        check=True,
    )
    seen = json.loads(finished.stdout)
    assert seen["exit"] == 0
    stages = ["ids", "export", "transport", "queue", "liveness", "replay"]
    before = [f"before:{name}" for name in stages]
    assert seen["parent"] == before + [f"parent:{name}" for name in reversed(stages)]
    in_child = [f"child:{name}" for name in stages]
    in_child.insert(stages.index("replay"), "child:dataflow")  # after the failing dataflow hook
    assert seen["child"] == [*before, *in_child, "failures:1"]  # the failure is reported
