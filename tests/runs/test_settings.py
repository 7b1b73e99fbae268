"""One settings object: one precedence rule, clear errors, re-configuration, implicit first use."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.environments import child_environment

import spanflow
from spanflow import environment as env
from spanflow._internal import config, settings
from spanflow._internal.parameters import PARAMETERS
from spanflow.dataflow import dataflow_mode, set_dataflow
from spanflow.instrumentation import content
from spanflow.testing import SpanCapture

# For each parameter read from the environment: a value its variable may hold, what it resolves
# to, and a different value for the configure() argument (which must win).
FROM_ENVIRONMENT: dict[str, tuple[str, Any, Any]] = {
    "project": ("from-env", "from-env", "from-arg"),
    "service_name": ("svc-env", "svc-env", "svc-arg"),
    "protocol": ("http/json", "http/json", "http/protobuf"),
    "spool_dir": ("/tmp/spool-env", Path("/tmp/spool-env"), "/tmp/spool-arg"),
    "spool_max_bytes": ("1000", 1000, 5),
    "exit_timeout_s": ("0.5", 0.5, 3.0),
    "exporters": ("console, none", ("console", "none"), ["memory"]),
    "db_path": ("env.db", Path("env.db"), "arg.db"),
    "heartbeat_interval_s": ("7.5", 7.5, 2.0),
    "capture_content": ("false", False, True),
    "max_content_chars": ("99", 99, 7),
    "dataflow": ("inline", "inline", False),
    "resource_attributes": ("team=evals,tier=gold", {"team": "evals", "tier": "gold"}, {"a": "b"}),
    "redact": ("off", False, True),
    "redact_patterns": ("EMP-[0-9]+\nX-[a-z]+", ("EMP-[0-9]+", "X-[a-z]+"), ["Y"]),
    "openinference": ("true", True, False),
    "record_responses": ("no", False, True),
    "disabled": ("true", True, None),
    "stream_usage": ("yes", True, None),
    "record_launch": ("1", True, None),
    "compression": ("gzip", "gzip", None),
    "certificate": ("/tmp/ca.pem", "/tmp/ca.pem", None),
    "request_timeout_s": ("2500", 2.5, None),
    "max_run_keys": ("12", 12, None),
    "max_run_metric_points": ("34", 34, None),
    "max_artifact_bytes": ("0", 0, None),
    "replay_plan": ("/tmp/plan.json", "/tmp/plan.json", None),
    "logs_compression": ("gzip", "gzip", None),
    "logs_request_timeout_s": ("2500", 2.5, None),
}

# Values no parser accepts, and a word the error must contain besides the variable's name.
INVALID: list[tuple[str, str, str]] = [
    (env.SPANFLOW_DATAFLOW, "sometimes", "inline"),
    (env.SPANFLOW_CAPTURE_CONTENT, "maybe", "NO_CONTENT"),
    (env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, "SPAN", "SPAN_ONLY"),
    (env.SPANFLOW_REDACT, "nah", "false"),
    (env.SPANFLOW_RECORD_RESPONSES, "2", "true"),
    (env.SPANFLOW_MAX_CONTENT_CHARS, "0", "1 or more"),
    (env.SPANFLOW_SPOOL_MAX_BYTES, "lots", "0 or more"),
    (env.SPANFLOW_EXIT_TIMEOUT_S, "-1", "0 or more"),
    (env.SPANFLOW_MAX_RUN_KEYS, "many", "1 or more"),
    (env.SPANFLOW_MAX_ARTIFACT_BYTES, "1 MiB", "0 or more"),
    (env.SPANFLOW_REDACT_PATTERNS, "(unclosed", "regular expression"),
    (env.OTEL_EXPORTER_OTLP_PROTOCOL, "udp", "http/json"),
    (env.OTEL_EXPORTER_OTLP_COMPRESSION, "zstd", "gzip"),
    (env.OTEL_EXPORTER_OTLP_TIMEOUT, "soon", "milliseconds"),
    (env.OTEL_RESOURCE_ATTRIBUTES, "no-equals-sign", "key=value"),
]

_SCRIPT_STEP_ONLY = """
import spanflow

@spanflow.step
def double(x: int) -> int:
    return x * 2

print(double(21))
"""

_SCRIPT_BAD_ENVIRONMENT = """
import spanflow

with spanflow.run("implicit") as handle:
    value = 42
print(handle.status, value)
"""


def test_every_parameter_has_a_settings_field_and_a_precedence_case() -> None:
    """The table, the Settings fields and this test's cases name the same parameters."""
    names = {parameter.name for parameter in PARAMETERS}
    # Resolved together into otlp_endpoints.
    derived = {"endpoint", "headers", "logs_endpoint", "logs_headers"}
    assert names - derived == settings.SETTINGS_FIELDS - {"otlp_endpoints"}
    with_variables = {
        parameter.name
        for parameter in PARAMETERS
        if parameter.variables and parameter.name not in derived
    }
    assert with_variables == set(FROM_ENVIRONMENT)
    arguments = {parameter.name for parameter in PARAMETERS if parameter.argument}
    assert arguments == set(inspect.signature(spanflow.configure).parameters)


@pytest.mark.parametrize("name", sorted(FROM_ENVIRONMENT))
def test_argument_beats_variable_beats_default(name: str) -> None:
    """Each parameter: its default alone, its variable over the default, the argument over both."""
    parameter = next(parameter for parameter in PARAMETERS if parameter.name == name)
    raw, from_variable, argument = FROM_ENVIRONMENT[name]
    default = getattr(settings.resolve(environ={}), name)
    assert default != from_variable
    environ = {parameter.variables[0]: raw}
    assert getattr(settings.resolve(environ=environ), name) == from_variable
    if argument is None:
        assert not parameter.argument  # set by the environment only
        return
    expected = settings.resolve(environ={}, **{name: argument})
    assert getattr(settings.resolve(environ=environ, **{name: argument}), name) == getattr(
        expected, name
    )
    assert getattr(expected, name) != from_variable


def test_otel_sdk_disabled_follows_the_opentelemetry_boolean_rule() -> None:
    """OTEL_SDK_DISABLED is true only for "true" (any case), as OpenTelemetry defines it."""
    for raw, disabled in (("TRUE", True), ("true", True), ("1", False), ("perhaps", False)):
        chosen = settings.resolve(environ={env.OTEL_SDK_DISABLED: raw})
        assert chosen.disabled is disabled, raw


def test_the_second_variable_is_read_only_when_the_first_is_unset() -> None:
    """SPANFLOW_CAPTURE_CONTENT is read before the OpenTelemetry GenAI content variable."""
    genai = env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
    assert settings.resolve(environ={genai: "NO_CONTENT"}).capture_content is False
    both = {genai: "NO_CONTENT", env.SPANFLOW_CAPTURE_CONTENT: "true"}
    assert settings.resolve(environ=both).capture_content is True


@pytest.mark.parametrize(("variable", "value", "accepted"), INVALID)
def test_an_unreadable_variable_names_itself_and_what_it_accepts(
    spanflow_capture: SpanCapture,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    accepted: str,
) -> None:
    """configure() raises a ConfigurationError naming the variable, its value and the choices."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(spanflow.ConfigurationError) as raised:
        spanflow.configure()
    message = str(raised.value)
    assert variable in message and repr(value) in message and accepted in message
    with spanflow.run(f"after-{variable}"):  # nothing changed: runs still go where they went
        pass
    assert spanflow_capture.run(f"after-{variable}").status == "completed"


def test_a_second_configure_starts_over_from_the_environment(
    spanflow_capture: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a second configure() leaves out comes from the environment, never an earlier call."""
    monkeypatch.setenv(env.SPANFLOW_PROJECT, "env-project")
    for name in (env.SPANFLOW_CAPTURE_CONTENT, env.SPANFLOW_DATAFLOW, env.SPANFLOW_REDACT):
        monkeypatch.delenv(name, raising=False)
    try:
        spanflow.configure(
            exporters=["none"], project="first", capture_content=False, dataflow=False
        )
        assert config.settings().project == "first"
        assert not content.capture_enabled() and dataflow_mode() == "off"
        set_dataflow(enabled=True, inline=True)  # a switch changes the same settings object
        assert config.settings().dataflow == "inline"
        spanflow.configure(exporters=["none"], redact=False)
        chosen = config.settings()
        assert (chosen.project, chosen.capture_content, chosen.dataflow, chosen.redact) == (
            "env-project",
            True,
            "background",
            False,
        )
        assert content.capture_enabled() and dataflow_mode() == "background"
    finally:
        monkeypatch.delenv(env.SPANFLOW_PROJECT)
        spanflow.configure(exporters=["none"])


def test_a_script_using_only_step_records_into_the_index(tmp_path: Path) -> None:
    """@step configures spanflow on first use, so its span reaches the default run index."""
    db = tmp_path / "index.db"
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT_STEP_ONLY],
        env=child_environment(SPANFLOW_DB=str(db)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "42"
    with spanflow.Client(db) as client:
        (run,) = client.list_runs().runs
        assert (run.name, run.status) == ("double", "completed")
        (span,) = client.spans(run.id)
    assert span.attributes["spanflow.step.output"] == "42"


def test_implicit_configuration_with_a_bad_variable_logs_once_and_never_raises() -> None:
    """A run configuring itself from a wrong environment logs the reason once and works."""
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT_BAD_ENVIRONMENT],
        env=child_environment(SPANFLOW_DATAFLOW="sometimes", SPANFLOW_EXPORTERS="none"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "completed 42"
    assert done.stderr.count("SPANFLOW_DATAFLOW='sometimes'") == 1, done.stderr


def test_the_otlp_timeout_variables_bound_each_request_of_their_endpoint() -> None:
    """OTEL_EXPORTER_OTLP_TIMEOUT is in milliseconds, as OpenTelemetry's; the traces variable
    wins; without either a request may take 10 s."""
    base = {env.OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318"}
    (default,) = settings.resolve_endpoints(None, None, "http/protobuf", base)
    assert default.timeout_s == 10.0
    general = {**base, env.OTEL_EXPORTER_OTLP_TIMEOUT: "2500"}
    (endpoint,) = settings.resolve_endpoints(None, None, "http/protobuf", general)
    assert endpoint.timeout_s == 2.5
    traces = {**general, env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "300"}
    (endpoint,) = settings.resolve_endpoints(None, None, "grpc", traces)
    assert endpoint.timeout_s == 0.3


def test_the_otlp_logs_variables_win_over_the_generic_ones_for_run_records() -> None:
    """Run records (OTLP logs): each LOGS_ variable beats the generic one, which beats the
    default; the traces variables do not apply to them."""
    base = {
        env.OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318/",
        env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "300",
        env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: "gzip",
        env.OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-signal=traces",
    }
    (endpoint,) = settings.resolve_endpoints(None, None, "http/protobuf", base)
    assert endpoint.signal_url("logs") == "http://127.0.0.1:4318/v1/logs"
    assert (endpoint.signal_timeout_s("logs"), endpoint.signal_gzip("logs")) == (10.0, False)
    assert endpoint.signal_headers("logs") == ()
    generic = {
        **base,
        env.OTEL_EXPORTER_OTLP_TIMEOUT: "2500",
        env.OTEL_EXPORTER_OTLP_COMPRESSION: "gzip",
        env.OTEL_EXPORTER_OTLP_HEADERS: "x-signal=any",
    }
    (endpoint,) = settings.resolve_endpoints(None, None, "http/protobuf", generic)
    assert (endpoint.signal_timeout_s("logs"), endpoint.signal_gzip("logs")) == (2.5, True)
    assert endpoint.signal_headers("logs") == (("x-signal", "any"),)
    specific = {
        **generic,
        env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "http://logs.example:4318/custom",
        env.OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: "700",
        env.OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: "none",
        env.OTEL_EXPORTER_OTLP_LOGS_HEADERS: "x-signal=logs",
    }
    (endpoint,) = settings.resolve_endpoints(None, None, "http/protobuf", specific)
    assert endpoint.signal_url("logs") == "http://logs.example:4318/custom"
    assert (endpoint.signal_timeout_s("logs"), endpoint.signal_gzip("logs")) == (0.7, False)
    assert endpoint.signal_headers("logs") == (("x-signal", "logs"),)
    assert (endpoint.signal_url("traces"), endpoint.signal_timeout_s("traces")) == (
        "http://127.0.0.1:4318/v1/traces",
        0.3,
    )
    assert endpoint.signal_headers("traces") == (("x-signal", "traces"),)


def test_spanflow_endpoints_take_run_records_themselves_with_the_token() -> None:
    """SPANFLOW_ENDPOINT names collectors that take both signals: no OTEL_ logs endpoint moves
    the run records away, and the logs headers still carry the collector token."""
    environ = {
        env.SPANFLOW_ENDPOINT: "http://127.0.0.1:4318",
        env.SPANFLOW_COLLECTOR_TOKEN: "s3cret",
        env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "http://elsewhere:4318/v1/logs",
        env.OTEL_EXPORTER_OTLP_LOGS_HEADERS: "x-signal=logs",
    }
    (endpoint,) = settings.resolve_endpoints(None, None, "http/protobuf", environ)
    assert endpoint.signal_url("logs") == "http://127.0.0.1:4318/v1/logs"
    assert dict(endpoint.signal_headers("logs")) == {
        "x-signal": "logs",
        "Authorization": "Bearer s3cret",
    }
