"""Every bad ``configure()`` argument or environment value is a ConfigurationError naming it.

A failed ``configure()`` changes nothing: runs keep going where they went before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import spanflow
from spanflow import environment as env
from spanflow._internal import config
from spanflow.instrumentation.content import capture_enabled
from spanflow.testing import SpanCapture

BAD_ARGUMENTS: list[tuple[str, Any]] = [
    ("project", 5),
    ("service_name", ["svc"]),
    ("endpoint", 5),
    ("endpoint", ["http://127.0.0.1:4318", 5]),
    ("endpoint", "ftp://127.0.0.1:4318"),
    ("headers", 5),
    ("headers", [("authorization", "x")]),
    ("headers", {"x-team": 7}),
    ("exporters", 5),
    ("exporters", ["console", 5]),
    ("db_path", 5),
    ("heartbeat_interval_s", "30"),
    ("heartbeat_interval_s", True),
    ("heartbeat_interval_s", float("inf")),
    ("heartbeat_interval_s", -1.0),
    ("capture_content", "no"),
    ("max_content_chars", "100"),
    ("max_content_chars", 0),
    ("max_content_chars", 2.5),
    ("dataflow", "off"),
    ("propagate_context", None),
    ("resource_attributes", ["team=evals"]),
    ("resource_attributes", {"team": object()}),
    ("redact", "no"),
    ("redact_patterns", "sk-[a-z]+"),
    ("redact_patterns", [5]),
    ("record_responses", "no"),
]

BAD_ENVIRONMENT: list[tuple[str, str]] = [
    (env.SPANFLOW_HEARTBEAT_INTERVAL_S, "soon"),
    (env.SPANFLOW_HEARTBEAT_INTERVAL_S, "-5"),
    (env.SPANFLOW_HEARTBEAT_INTERVAL_S, "inf"),
    (env.SPANFLOW_EXPORTERS, "otlp,jaeger"),
    (env.SPANFLOW_ENDPOINT, "127.0.0.1:4318"),
    (env.OTEL_EXPORTER_OTLP_ENDPOINT, "collector:4318"),
    (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "collector:4318/v1/traces"),
]


def _still_recording(capture: SpanCapture, name: str) -> None:
    with spanflow.run(name):
        pass
    assert capture.run(name).status == "completed"


@pytest.mark.parametrize(("argument", "value"), BAD_ARGUMENTS)
def test_a_bad_argument_is_a_configuration_error_naming_it(
    spanflow_capture: SpanCapture, argument: str, value: Any
) -> None:
    """configure(argument=bad) raises ConfigurationError mentioning the argument, and no more."""
    with pytest.raises(spanflow.ConfigurationError, match=argument):
        spanflow.configure(**{argument: value})
    _still_recording(spanflow_capture, f"after-bad-{argument}")


@pytest.mark.parametrize(("variable", "value"), BAD_ENVIRONMENT)
def test_a_bad_environment_value_is_a_configuration_error_naming_the_variable(
    spanflow_capture: SpanCapture, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """A variable configure() reads with an unusable value is named in the ConfigurationError."""
    for name in (env.SPANFLOW_ENDPOINT, env.OTEL_EXPORTER_OTLP_ENDPOINT):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, raising=False)
    monkeypatch.setenv(variable, value)
    with pytest.raises(spanflow.ConfigurationError, match=variable):
        spanflow.configure()
    _still_recording(spanflow_capture, f"after-bad-{variable}")


def test_an_index_path_that_cannot_exist_is_a_configuration_error(
    spanflow_capture: SpanCapture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index under a regular file, by argument or SPANFLOW_DB, names both ways to fix it."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    spanflow.configure(exporters=[spanflow_capture.exporter], capture_content=False)
    with pytest.raises(spanflow.ConfigurationError, match="SPANFLOW_DB"):
        spanflow.configure(exporters=["embedded"], db_path=blocker / "index.db")
    monkeypatch.setenv(env.SPANFLOW_DB, str(blocker / "index.db"))
    with pytest.raises(spanflow.ConfigurationError, match="db_path"):
        spanflow.configure(exporters=["embedded"])
    assert not capture_enabled()  # the failed calls did not reset content capture either
    spanflow.configure(exporters=[spanflow_capture.exporter])
    _still_recording(spanflow_capture, "after-bad-index-path")


def test_exporters_given_as_one_string_is_a_comma_separated_list(
    spanflow_capture: SpanCapture,
) -> None:
    """configure(exporters="none") means ["none"], as SPANFLOW_EXPORTERS does, not letters."""
    try:
        spanflow.configure(exporters="none, console")
        assert config.settings().exporters == ("none", "console")
    finally:
        spanflow.configure(exporters=[spanflow_capture.exporter])
