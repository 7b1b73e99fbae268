"""spanflow's own failures: never the user's problem, logged once per place, counted on the run."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.environments import child_environment

import spanflow
from spanflow import attributes as attr
from spanflow._internal import guard, liveness
from spanflow.instrumentation import content
from spanflow.testing import SpanCapture


class Broken(Exception):
    """Stands for a bug inside spanflow."""


def _broken(*args: object, **kwargs: object) -> object:
    raise Broken("injected into spanflow")


@pytest.fixture
def fresh_guard() -> Iterator[None]:
    guard.reset_reported()
    yield
    guard.reset_reported()


def _internal_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and "internal error while" in record.getMessage()
    ]


def test_a_failing_component_never_changes_results_and_is_logged_once_per_place(
    spanflow_capture: SpanCapture,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fresh_guard: None,
) -> None:
    """Content capture failing on every step call: values unchanged, two warnings, all counted."""

    @spanflow.step(name="double")
    def double(x: int) -> int:
        return 2 * x

    monkeypatch.setattr(content, "bound_json", _broken)
    with caplog.at_level(logging.DEBUG, logger="spanflow"), spanflow.run("unlucky"):
        results = [double(n) for n in range(5)]
    assert results == [0, 2, 4, 6, 8]
    warnings = _internal_warnings(caplog)
    assert len(warnings) == 2, warnings  # one per place, not one per call
    assert any("recording a step's arguments" in text for text in warnings)
    assert any("recording a step's outcome" in text for text in warnings)
    assert guard.internal_error_counts() == {
        "recording a step's arguments": 5,
        "recording a step's outcome": 5,
    }
    root = spanflow_capture.run("unlucky").root
    assert root.attributes[attr.RUN_INTERNAL_ERRORS] == 10
    steps = spanflow_capture.spans_named("double")
    assert len(steps) == 5 and all(attr.INTERNAL_ERROR in span.attributes for span in steps)


def test_a_failure_in_the_run_layer_leaves_the_run_working(
    spanflow_capture: SpanCapture, monkeypatch: pytest.MonkeyPatch, fresh_guard: None
) -> None:
    """A run whose start announcement fails still returns, completes and says it missed data."""
    monkeypatch.setattr(liveness, "announce_start", _broken)
    with spanflow.run("no-start-record") as handle:
        value = 42
    assert (value, handle.status) == (42, "completed")
    root = spanflow_capture.run("no-start-record").root
    assert root.attributes[attr.RUN_INTERNAL_ERRORS] == 1
    monkeypatch.undo()
    with spanflow.run("clean-afterwards"):
        pass
    assert attr.RUN_INTERNAL_ERRORS not in spanflow_capture.run("clean-afterwards").root.attributes


def test_misuse_is_a_warning_once_per_place_not_a_log_line_per_call(
    spanflow_capture: SpanCapture,
    caplog: pytest.LogCaptureFixture,
    recwarn: pytest.WarningsRecorder,
) -> None:
    """link_dataflow with something that is not a span warns once, returns False, logs nothing."""
    with caplog.at_level(logging.WARNING, logger="spanflow"), spanflow.run("misuse"):
        results = [spanflow.link_dataflow(producer="not a span") for _ in range(3)]
    assert results == [False, False, False]
    warned = [w for w in recwarn if issubclass(w.category, spanflow.SpanflowWarning)]
    assert len(warned) == 1 and "is not a span" in str(warned[0].message)
    assert warned[0].filename == __file__  # points at the user's call
    assert not caplog.records


_SCRIPT_BROKEN_CAPTURE = """
import spanflow
from spanflow.instrumentation import content

def broken(*args, **kwargs):
    raise RuntimeError("injected into spanflow")

content.bound_json = broken

@spanflow.step(name="double")
def double(x):
    return 2 * x

with spanflow.run("unlucky"):
    print(sum(double(n) for n in range(3)))
"""


def test_runs_show_says_how_often_spanflow_failed_while_recording(tmp_path: Path) -> None:
    """A run recorded while spanflow's content capture kept failing is complete for the user,
    and `spanflow runs show` tells the reader that the record itself may have gaps."""
    db = tmp_path / "index.db"
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT_BROKEN_CAPTURE],
        env=child_environment(SPANFLOW_DB=str(db)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "6"
    with spanflow.Client(db) as client:
        (run,) = client.list_runs().runs
    assert run.attributes[attr.RUN_INTERNAL_ERRORS] == 6  # 3 steps x (arguments, outcome)
    shown = subprocess.run(
        [sys.executable, "-m", "spanflow.cli", "runs", "show", "--db", str(db), run.id],
        env=child_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert "6 failures inside spanflow while recording" in shown.stdout
