"""``spanflow record`` runs an unmodified script as one run, like ``python script.py`` would.

The command runs in this process (its runs captured in memory), except one smoke test that
starts it as a real process exporting over OTLP.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import spanflow
from spanflow import attributes, cli
from spanflow.testing import OTLPReceiver, SpanCapture
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


def record_process(
    receiver: OTLPReceiver, cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
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


@dataclass(frozen=True)
class Recorded:
    """What ``spanflow record`` gave: its exit code, its output, and the one run it recorded."""

    code: int
    out: str
    err: str
    capture: SpanCapture

    def run(self) -> CapturedRun:
        (run,) = self.capture.runs()
        return run


@pytest.fixture
def record(
    spanflow_capture: SpanCapture,
    project_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Callable[..., Recorded]]:
    """``record(*args)`` runs ``spanflow record ARGS`` in this process, in the project folder."""
    monkeypatch.chdir(project_dir)
    before = set(sys.modules)

    def run_record(*args: str) -> Recorded:
        code = cli.main(["record", *args])
        out, err = capsys.readouterr()
        return Recorded(code, out, err, spanflow_capture)

    try:
        yield run_record
    finally:
        spanflow.uninstrument()
        # The script's own modules (helper, agentpkg) are this folder's: forget them.
        for name in set(sys.modules) - before:
            if name.split(".")[0] in ("helper", "agentpkg"):
                del sys.modules[name]


def _assert_the_demo_run(run: CapturedRun) -> None:
    """The run of ``--project demo --tag nightly agent.py``: completed, with its one step."""
    assert (run.name, run.project, run.tags, run.status) == (
        "agent",
        "demo",
        ["nightly"],
        "completed",
    )
    steps = [s for s in run.spans if s.spanflow_kind == attributes.SpanKindValue.STEP]
    assert [s.attributes[attributes.STEP_OUTPUT] for s in steps] == ["42"]


def test_a_script_recorded_in_its_own_process_exports_one_completed_run(
    receiver: OTLPReceiver, project_dir: Path
) -> None:
    """Smoke test: `spanflow record` as a command runs the script as __main__ with its
    arguments and exports the run, its project, tags and steps over OTLP."""
    done = record_process(
        receiver, project_dir, "--project", "demo", "--tag", "nightly", "agent.py", "a", "--b"
    )
    assert done.returncode == 0, done.stderr
    assert "argv: ['a', '--b'] name: __main__ result: 42" in done.stdout
    receiver.wait_for(lambda spans: any(s.spanflow_kind == "run" for s in spans), timeout_s=15)
    (run,) = receiver.runs()
    _assert_the_demo_run(run)


def test_script_runs_as_main_with_its_arguments(record: Callable[..., Recorded]) -> None:
    """The script sees its own argv and __main__, and the run completes with its steps."""
    done = record("--project", "demo", "--tag", "nightly", "agent.py", "a", "--b")
    assert done.code == 0, done.err
    assert "argv: ['a', '--b'] name: __main__ result: 42" in done.out
    _assert_the_demo_run(done.run())


def test_exception_fails_the_run_and_prints_a_python_traceback(
    record: Callable[..., Recorded],
) -> None:
    """An uncaught exception exits 1, prints the script's traceback only, and fails the run."""
    done = record("--name", "broken", "agent.py", "--fail")
    assert done.code == 1
    traceback_text = done.err[done.err.index("Traceback") :]
    assert traceback_text.splitlines()[1].startswith('  File "agent.py", line')
    assert traceback_text.rstrip().endswith("ValueError: the script broke")
    assert "runpy" not in traceback_text and "spanflow" not in traceback_text
    run = done.run()
    assert (run.name, run.status) == ("broken", "failed")


def test_exit_codes_pass_through(record: Callable[..., Recorded]) -> None:
    """sys.exit(3) exits 3 and fails the run."""
    failed = record("agent.py", "--exit", "3")
    assert failed.code == 3
    assert failed.run().status == "failed"


def test_exit_zero_completes_the_run(record: Callable[..., Recorded]) -> None:
    """A script ending with sys.exit(0) is a completed run with exit code 0."""
    done = record("agent.py", "--exit", "0")
    assert done.code == 0
    assert done.run().status == "completed"


def test_exit_with_a_message_prints_it_and_exits_1(record: Callable[..., Recorded]) -> None:
    """sys.exit("message") prints the message to stderr and exits 1, as Python does."""
    done = record("agent.py", "--message")
    assert done.code == 1
    assert done.err.rstrip().endswith("stopping with a message")


def test_module_mode_runs_a_package_main(record: Callable[..., Recorded]) -> None:
    """`-m package args` runs package/__main__.py as __main__ with those arguments."""
    done = record("-m", "agentpkg", "x", "--y")
    assert done.code == 0, done.err
    assert "module argv: ['x', '--y'] __main__" in done.out
    assert done.run().name == "agentpkg"


def test_missing_script_is_an_error(record: Callable[..., Recorded]) -> None:
    """A script path that does not exist exits 2 with a message, like python does."""
    done = record("nope.py")
    assert done.code == 2
    assert "can't open file 'nope.py'" in done.err


@pytest.mark.parametrize(
    ("module", "words"),
    [
        ("nosuchmodule", "No module named nosuchmodule"),
        ("nosuch.sub", "Error while finding module specification for 'nosuch.sub'"),
        ("pkg_without_main", "is a package and cannot be directly executed"),
    ],
)
def test_record_a_module_that_does_not_exist(
    record: Callable[..., Recorded], project_dir: Path, module: str, words: str
) -> None:
    """`spanflow record -m` on a module Python cannot run says so before recording any run."""
    (project_dir / "pkg_without_main").mkdir()
    (project_dir / "pkg_without_main" / "__init__.py").touch()
    done = record("-m", module)
    assert done.code == 1
    assert done.err.count("\n") == 1 and done.err.startswith("spanflow record: "), done.err
    assert words in done.err
    assert done.capture.runs() == []
