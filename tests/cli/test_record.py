"""``spanflow record`` runs an unmodified script as one run, like ``python script.py`` would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from spanflow import attributes
from spanflow.testing import OTLPReceiver
from spanflow.testing.records import CapturedRun

SCRIPT = """
import sys

import helper  # a sibling module: the script's directory is on sys.path
import spanflow


@spanflow.step
def double(x):
    return 2 * x


print("argv:", sys.argv[1:], "name:", __name__, "result:", double(helper.VALUE))
if "--fail" in sys.argv:
    raise ValueError("the script broke")
if "--exit" in sys.argv:
    sys.exit(int(sys.argv[-1]))
if "--message" in sys.argv:
    sys.exit("stopping with a message")
"""


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as running:
        yield running


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    (tmp_path / "agent.py").write_text(textwrap.dedent(SCRIPT))
    (tmp_path / "helper.py").write_text("VALUE = 21\n")
    package = tmp_path / "agentpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(
        "import sys\nprint('module argv:', sys.argv[1:], __name__)\n"
    )
    return tmp_path


def record(receiver: OTLPReceiver, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``spanflow record ARGS`` in a subprocess exporting to the receiver."""
    env = {
        **os.environ,
        "SPANFLOW_ENDPOINT": receiver.endpoint,
        "SPANFLOW_EXPORTERS": "otlp",
        "PYTHONPATH": "",
    }
    return subprocess.run(
        [sys.executable, "-m", "spanflow.cli", "record", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def only_run(receiver: OTLPReceiver) -> CapturedRun:
    receiver.wait_for(lambda spans: any(s.kind == "run" for s in spans), timeout_s=15)
    (run,) = receiver.runs()
    return run


def test_script_runs_as_main_with_its_arguments(receiver: OTLPReceiver, project_dir: Path) -> None:
    """The script sees its own argv and __main__, and the run completes with its steps."""
    done = record(
        receiver, project_dir, "--project", "demo", "--tag", "nightly", "agent.py", "a", "--b"
    )
    assert done.returncode == 0, done.stderr
    assert "argv: ['a', '--b'] name: __main__ result: 42" in done.stdout
    run = only_run(receiver)
    assert (run.name, run.project, run.tags, run.status) == (
        "agent",
        "demo",
        ["nightly"],
        "completed",
    )
    steps = [s for s in run.spans if s.kind == attributes.SpanKindValue.STEP]
    assert [s.attributes[attributes.STEP_OUTPUT] for s in steps] == ["42"]


def test_exception_fails_the_run_and_prints_a_python_traceback(
    receiver: OTLPReceiver, project_dir: Path
) -> None:
    """An uncaught exception exits 1, prints the script's traceback only, and fails the run."""
    done = record(receiver, project_dir, "--name", "broken", "agent.py", "--fail")
    assert done.returncode == 1
    traceback_text = done.stderr[done.stderr.index("Traceback") :]
    assert traceback_text.splitlines()[1].startswith('  File "agent.py", line')
    assert traceback_text.rstrip().endswith("ValueError: the script broke")
    assert "runpy" not in traceback_text and "spanflow" not in traceback_text
    run = only_run(receiver)
    assert (run.name, run.status) == ("broken", "failed")


def test_exit_codes_pass_through(receiver: OTLPReceiver, project_dir: Path) -> None:
    """sys.exit(3) exits 3 and fails the run; sys.exit(0) completes it."""
    failed = record(receiver, project_dir, "agent.py", "--exit", "3")
    assert failed.returncode == 3
    assert only_run(receiver).status == "failed"


def test_exit_zero_completes_the_run(receiver: OTLPReceiver, project_dir: Path) -> None:
    """A script ending with sys.exit(0) is a completed run with exit code 0."""
    done = record(receiver, project_dir, "agent.py", "--exit", "0")
    assert done.returncode == 0
    assert only_run(receiver).status == "completed"


def test_exit_with_a_message_prints_it_and_exits_1(
    receiver: OTLPReceiver, project_dir: Path
) -> None:
    """sys.exit("message") prints the message to stderr and exits 1, as Python does."""
    done = record(receiver, project_dir, "agent.py", "--message")
    assert done.returncode == 1
    assert done.stderr.rstrip().endswith("stopping with a message")


def test_module_mode_runs_a_package_main(receiver: OTLPReceiver, project_dir: Path) -> None:
    """`-m package args` runs package/__main__.py as __main__ with those arguments."""
    done = record(receiver, project_dir, "-m", "agentpkg", "x", "--y")
    assert done.returncode == 0, done.stderr
    assert "module argv: ['x', '--y'] __main__" in done.stdout
    assert only_run(receiver).name == "agentpkg"


def test_missing_script_is_an_error(receiver: OTLPReceiver, project_dir: Path) -> None:
    """A script path that does not exist exits 2 with a message, like python does."""
    done = record(receiver, project_dir, "nope.py")
    assert done.returncode == 2
    assert "can't open file 'nope.py'" in done.stderr
