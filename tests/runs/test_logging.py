"""Logging params, metrics, outputs, artifacts and tags into runs; bad values and no run."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanLimits

import spanflow
from spanflow import attributes
from spanflow._internal import settings
from spanflow.testing import SpanCapture


def test_params_metrics_outputs_and_tags_land_in_the_runs_records(
    spanflow_capture: SpanCapture,
) -> None:
    """Everything logged inside a run is in its run records, encoded as documented."""
    with spanflow.run("logged", params={"model": "m1"}):
        spanflow.log_param("lr", 0.01)
        spanflow.log_params(layers=4, schedule=["a", "b"])
        spanflow.log_metric("loss", 1.5, step=0)
        spanflow.log_metric("loss", 0.5, step=1)
        spanflow.log_metrics({"acc": 0.9, "f1": 1}, step=1)
        spanflow.log_output("answer", "42")
        spanflow.log_outputs(table={"rows": 2})
        spanflow.tag("a", "b")
        spanflow.tag("b", "c")
        spanflow.log_input("question", "why?")
        spanflow.log_inputs(rows=[1, 2])
    run = spanflow_capture.run("logged")
    assert run.params == {"model": "m1", "lr": 0.01, "layers": 4, "schedule": ["a", "b"]}
    assert run.inputs == {"question": "why?", "rows": "[1, 2]"}
    assert run.metrics == {"loss": 0.5, "acc": 0.9, "f1": 1.0}
    assert [(p.name, p.value, p.step) for p in run.metric_points] == [
        ("loss", 1.5, 0),
        ("loss", 0.5, 1),
        ("acc", 0.9, 1),
        ("f1", 1.0, 1),
    ]
    assert run.outputs == {"answer": "42", "table": '{"rows": 2}'}
    assert run.tags == ["a", "b", "c"]


def test_a_metric_without_step_has_no_step(spanflow_capture: SpanCapture) -> None:
    """A metric point logged without a step is recorded with step None, not step 0."""
    with spanflow.run("no-step"):
        spanflow.log_metric("score", 3)
    run = spanflow_capture.run("no-step")
    assert [(p.name, p.value, p.step) for p in run.metric_points] == [("score", 3.0, None)]
    assert run.root.events == ()


def test_logging_goes_to_the_innermost_run(spanflow_capture: SpanCapture) -> None:
    """Inside a subrun, logging goes to the subrun, and back to the parent after it."""
    with spanflow.run("outer"):
        with spanflow.run("inner"):
            spanflow.log_metric("m", 1)
        spanflow.log_metric("m", 2)
    assert spanflow_capture.run("inner").metrics == {"m": 1.0}
    assert spanflow_capture.run("outer").metrics == {"m": 2.0}


def test_handle_methods_log_into_that_run_from_anywhere(spanflow_capture: SpanCapture) -> None:
    """`handle.log_metric` logs into the handle's run even while another run is current."""
    with spanflow.run("target") as target, spanflow.run("other"):
        target.log_metric("from_child", 5)
        target.log_param("p", True)
        target.tag("t")
    captured = spanflow_capture.run("target")
    assert captured.metrics == {"from_child": 5.0}
    assert captured.params == {"p": True}
    assert captured.tags == ["t"]


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: spanflow.log_param("k", 1), "log_param"),
        (lambda: spanflow.log_params(k=1), "log_params"),
        (lambda: spanflow.log_metric("m", 1.0), "log_metric"),
        (lambda: spanflow.log_metrics({"m": 1.0}), "log_metrics"),
        (lambda: spanflow.log_output("o", "x"), "log_output"),
        (lambda: spanflow.log_outputs(o="x"), "log_outputs"),
        (lambda: spanflow.log_artifact("missing.txt"), "log_artifact"),
        (lambda: spanflow.tag("t"), "tag"),
    ],
)
def test_logging_outside_a_run_warns_once_and_does_nothing(
    spanflow_capture: SpanCapture, call: object, name: str
) -> None:
    """Each logging function outside a run warns the first time, then stays silent."""
    assert callable(call)
    with pytest.warns(spanflow.SpanflowWarning, match=f"{name}\\(\\) outside a run"):
        call()
    call()  # second time: no warning (filterwarnings=error would fail the test)
    assert spanflow_capture.spans() == []


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "0.5", None, object()])
def test_a_bad_metric_value_warns_naming_the_key_and_is_dropped(
    spanflow_capture: SpanCapture, bad: object
) -> None:
    """NaN, infinities and non-numbers are dropped with a warning naming the metric."""
    with spanflow.run("bad-metric"):
        with pytest.warns(spanflow.SpanflowWarning, match="'accuracy'"):
            spanflow.log_metric("accuracy", bad)  # type: ignore[arg-type]
        spanflow.log_metric("fine", 1.0)
    run = spanflow_capture.run("bad-metric")
    assert run.metrics == {"fine": 1.0}
    assert [p.name for p in run.metric_points] == ["fine"]


def test_an_unserialisable_param_is_stored_as_its_repr_with_a_warning(
    spanflow_capture: SpanCapture,
) -> None:
    """A param JSON cannot encode is recorded as repr() and a warning names its key."""

    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque>"

    with spanflow.run("opaque"):
        with pytest.warns(spanflow.SpanflowWarning, match="'thing'"):
            spanflow.log_param("thing", Opaque())
        with pytest.warns(spanflow.SpanflowWarning, match="'result'"):
            spanflow.log_output("result", {1, 2})
    run = spanflow_capture.run("opaque")
    assert run.params["thing"] == "<Opaque>"
    assert run.outputs["result"] in ("{1, 2}", "{2, 1}")


def test_log_artifact_records_path_size_hash_and_media_type(
    spanflow_capture: SpanCapture, tmp_path: Path
) -> None:
    """An artifact is a run record with the file's path, size, sha256 and media type."""
    report = tmp_path / "report.json"
    report.write_text('{"ok": true}')
    with spanflow.run("artifacts"):
        spanflow.log_artifact(report)
        spanflow.log_artifact(str(report), name="renamed")
    artifacts = spanflow_capture.run("artifacts").artifacts
    assert [a[attributes.ARTIFACT_NAME] for a in artifacts] == ["report.json", "renamed"]
    first = artifacts[0]
    assert first[attributes.ARTIFACT_PATH] == str(report.resolve())
    assert first[attributes.ARTIFACT_SIZE] == len('{"ok": true}')
    assert first[attributes.ARTIFACT_SHA256] == hashlib.sha256(b'{"ok": true}').hexdigest()
    assert first[attributes.ARTIFACT_MEDIA_TYPE] == "application/json"
    assert report.exists()


def test_log_artifact_of_a_missing_file_warns_and_records_nothing(
    spanflow_capture: SpanCapture, tmp_path: Path
) -> None:
    """A path that is not a file is reported in a warning and nothing is recorded."""
    with (
        spanflow.run("no-artifact"),
        pytest.warns(spanflow.SpanflowWarning, match="not a readable file"),
    ):
        spanflow.log_artifact(tmp_path / "nope.bin")
    assert spanflow_capture.run("no-artifact").artifacts == []


def test_logging_after_a_run_ended_warns_once_and_does_nothing(
    spanflow_capture: SpanCapture,
) -> None:
    """A handle kept after its run ended does not write into the exported span."""
    with spanflow.run("ended") as handle:
        pass
    with pytest.warns(spanflow.SpanflowWarning, match="after it ended"):
        handle.log_metric("late", 1)
    assert spanflow_capture.run("ended").metrics == {}


def test_params_past_the_key_limit_warn_once_and_mark_the_run_truncated(
    spanflow_capture: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past SPANFLOW_MAX_RUN_KEYS new params are dropped, with one warning and a truncation."""
    monkeypatch.setenv("SPANFLOW_MAX_RUN_KEYS", "3")
    monkeypatch.setattr(settings, "_current", settings.resolve())  # as configure() reads it
    with spanflow.run("few-keys", params={"a": 1, "b": 2}):
        with pytest.warns(spanflow.SpanflowWarning, match="more than 3 params"):
            spanflow.log_params(c=3, d=4)
        spanflow.log_params(a=10, e=5)  # a known key still updates; no second warning
    run = spanflow_capture.run("few-keys")
    assert run.params == {"a": 10, "b": 2, "c": 3}
    assert run.truncated == ["params"]


def test_a_lowered_attribute_limit_never_pushes_out_the_runs_own_fields(
    spanflow_capture: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a 20-attribute span limit, 50 params leave name/project/tags/status on the root."""
    provider = trace.get_tracer_provider()
    monkeypatch.setattr(provider, "_span_limits", SpanLimits(max_span_attributes=20))
    params = {f"p{i}": i for i in range(50)}
    with spanflow.run("limited", project="tight", tags=["t"], params=params):
        pass
    run = spanflow_capture.run("limited")
    root = run.root.attributes
    assert root[attributes.RUN_NAME] == "limited" and root[attributes.PROJECT] == "tight"
    assert root[attributes.RUN_TAGS] == ("t",) and root[attributes.RUN_STATUS] == "completed"
    assert len(root) <= 20
    assert run.params == params
