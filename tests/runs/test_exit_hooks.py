"""The process-exit hooks: configure() installs them, spanflow.shutdown() removes them.

Each case runs in a fresh interpreter: it changes the process's SIGTERM handler and ends by it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest
from tests.environments import child_environment

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM handlers are POSIX")

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import spanflow
    from spanflow._internal import exit_hooks

    def say(line):
        print(line, flush=True)

    spanflow.configure(exporters=["none"])
    exit_hooks.set_open_runs_ender(lambda: say("spanflow's exit hook ran") or 0)
    if sys.argv[1] == "exit":
        raise SystemExit(0)  # the atexit hook runs
    assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    spanflow.shutdown()
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        say("shutdown restored SIGTERM")
    if sys.argv[1] == "exit-after-shutdown":
        raise SystemExit(0)  # the atexit hook is gone

    spanflow.configure(exporters=["none"])
    spanflow_handler = signal.getsignal(signal.SIGTERM)
    if callable(spanflow_handler):
        say("configure installed it again")

    def users_handler(signum, frame):
        say("the user's handler ran")
        spanflow_handler(signum, frame)  # chains to spanflow's, as a good citizen does

    signal.signal(signal.SIGTERM, users_handler)
    spanflow.shutdown()
    if signal.getsignal(signal.SIGTERM) is users_handler:
        say("the user's handler stayed")
    os.kill(os.getpid(), signal.SIGTERM)
    say("still alive")
    """
)


def _run(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_environment(),
    )


def test_the_atexit_hook_runs_at_exit_unless_shutdown_removed_it() -> None:
    """configure() registers the exit hook; spanflow.shutdown() unregisters it."""
    assert _run("exit").stdout.splitlines() == ["spanflow's exit hook ran"]
    after_shutdown = _run("exit-after-shutdown")
    assert after_shutdown.returncode == 0, after_shutdown.stderr
    assert after_shutdown.stdout.splitlines() == ["shutdown restored SIGTERM"]


def test_shutdown_restores_sigterm_and_leaves_a_users_handler_on_top_working() -> None:
    """shutdown() restores SIGTERM; a handler chained on top of spanflow's still runs after
    shutdown and the process still dies of the signal, spanflow's handler only passing it on."""
    finished = _run("sigterm")
    assert finished.returncode == -signal.SIGTERM, finished.stderr
    assert finished.stdout.splitlines() == [
        "shutdown restored SIGTERM",
        "configure installed it again",
        "the user's handler stayed",
        "the user's handler ran",
    ]
