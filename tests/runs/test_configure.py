"""configure(): joining a provider, the OTEL_*/SPANFLOW_* environment, several endpoints, errors.

Scenarios that depend on the global tracer provider run in a fresh interpreter and export over
OTLP/HTTP to receivers on loopback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from tests.environments import child_environment

import spanflow
from spanflow import attributes as attr
from spanflow.testing import OTLPReceiver

SCENARIOS = Path(__file__).with_name("configure_scenarios.py")


def _run(mode: str, **variables: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, str(SCENARIOS), mode],
        env=child_environment(**variables),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_an_existing_provider_is_joined_not_replaced() -> None:
    """The app's exporter still gets every span, and spanflow's endpoint gets them too."""
    with OTLPReceiver() as receiver:
        done = _run("join", SPANFLOW_ENDPOINT=receiver.endpoint)
        root = receiver.wait_for_span(kind=attr.SpanKindValue.RUN, name="joined")
        app_span = receiver.wait_for_span(name="app-span")
    assert done.stdout.strip() == "app-span,joined"
    assert app_span.attributes[attr.RUN_ID] == root.run_id


def test_otel_variables_set_endpoint_headers_service_and_resource() -> None:
    """OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES."""
    with OTLPReceiver() as receiver:
        _run(
            "implicit",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_EXPORTER_OTLP_HEADERS="x-team=agents",
            OTEL_SERVICE_NAME="evaluator",
            OTEL_RESOURCE_ATTRIBUTES="deployment.environment=ci",
            SPANFLOW_PROJECT="from-env",
        )
        root = receiver.wait_for_span(kind=attr.SpanKindValue.RUN, name="implicit")
        headers = receiver.request_headers()
    assert root.resource_attributes["service.name"] == "evaluator"
    assert root.resource_attributes["deployment.environment"] == "ci"
    assert root.attributes[attr.PROJECT] == "from-env"
    assert all(h.get("x-team") == "agents" for h in headers)


def test_secrets_in_resource_attributes_are_redacted_before_export() -> None:
    """A token put in OTEL_RESOURCE_ATTRIBUTES never leaves the process; the rest stays."""
    key = "sk-proj-" + "Ab3dE5gH7jK9mN1pQ3sT5vX7zB9dF1hJ3lN5pR7tV9xZ"
    with OTLPReceiver() as receiver:
        _run(
            "implicit",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_RESOURCE_ATTRIBUTES=(
                f"deployment.environment=ci,app.note=key {key},db.password=hunter2"
            ),
        )
        root = receiver.wait_for_span(kind=attr.SpanKindValue.RUN, name="implicit")
    assert root.resource_attributes["deployment.environment"] == "ci"
    assert key not in str(root.resource_attributes["app.note"])
    assert str(root.resource_attributes["app.note"]).startswith("key [REDACTED")
    assert root.resource_attributes["db.password"] != "hunter2"


def test_the_traces_endpoint_variable_is_used_as_given() -> None:
    """OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is a full URL: nothing is appended."""
    with OTLPReceiver() as receiver:
        _run("implicit", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.traces_url)
        receiver.wait_for_span(kind=attr.SpanKindValue.RUN, name="implicit")


def test_several_spanflow_endpoints_each_get_every_span_with_the_token() -> None:
    """SPANFLOW_ENDPOINT lists a collector and Jaeger side by side; the token goes along."""
    with OTLPReceiver() as first, OTLPReceiver() as second:
        _run(
            "implicit",
            SPANFLOW_ENDPOINT=f"{first.endpoint},{second.endpoint}",
            SPANFLOW_COLLECTOR_TOKEN="s3cret",
        )
        for receiver in (first, second):
            receiver.wait_for_span(kind=attr.SpanKindValue.RUN, name="implicit")
            assert all(
                h.get("authorization", h.get("Authorization")) == "Bearer s3cret"
                for h in receiver.request_headers()
            )


def test_otel_sdk_disabled_exports_nothing_and_runs_still_work() -> None:
    """OTEL_SDK_DISABLED=true: the run block runs and ends; no request reaches the endpoint."""
    with OTLPReceiver() as receiver:
        done = _run("disabled", OTEL_SDK_DISABLED="true", SPANFLOW_ENDPOINT=receiver.endpoint)
        assert done.stdout.split() == ["completed", "42"]
        assert receiver.request_count == 0


def test_the_console_exporter_prints_spans_to_stderr() -> None:
    """SPANFLOW_EXPORTERS=console writes each span to standard error, leaving stdout alone."""
    done = _run("implicit", SPANFLOW_EXPORTERS="console")
    assert '"name": "implicit"' in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"exporters": ["carrier-pigeon"]}, "carrier-pigeon"),
        ({"exporters": ["otlp"]}, "needs an endpoint"),
        ({"heartbeat_interval_s": 0}, "heartbeat_interval_s"),
    ],
)
def test_bad_configuration_is_a_clear_error(arguments: dict[str, object], message: str) -> None:
    """Unusable values raise ConfigurationError naming the problem."""
    with pytest.raises(spanflow.ConfigurationError, match=message):
        spanflow.configure(**arguments)  # type: ignore[arg-type]


def test_run_records_follow_the_otlp_logs_variables() -> None:
    """OTEL_EXPORTER_OTLP_LOGS_ENDPOINT (as given) and _LOGS_HEADERS steer the run records: they
    reach a token-guarded collector there while the spans go to the traces endpoint."""
    from spanflow_collector.index.sqlite import SqliteRunIndexStore
    from spanflow_collector.server import Collector

    with TemporaryDirectory() as folder:
        store = SqliteRunIndexStore(Path(folder) / "index.db")
        collector = Collector(store, http_port=0, grpc_port=None, ingest_token="logs-only")
        collector.start()
        try:
            with OTLPReceiver() as spans_receiver:
                _run(
                    "implicit",
                    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=spans_receiver.traces_url,
                    OTEL_EXPORTER_OTLP_TRACES_HEADERS="x-team=spans",
                    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=f"{collector.http_url}/v1/logs",
                    OTEL_EXPORTER_OTLP_LOGS_HEADERS="Authorization=Bearer logs-only",
                    OTEL_EXPORTER_OTLP_LOGS_COMPRESSION="gzip",
                )
                root = spans_receiver.wait_for_span(kind=attr.SpanKindValue.RUN, name="implicit")
                assert spans_receiver.logs_request_count == 0
                assert all(h.get("x-team") == "spans" for h in spans_receiver.request_headers())
            run = store.get_run(root.run_id)
            assert run is not None and run.name == "implicit"
        finally:
            collector.stop()
            store.close()


def test_the_generic_endpoint_takes_run_records_when_spans_go_elsewhere() -> None:
    """With OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and OTEL_EXPORTER_OTLP_ENDPOINT both set, spans
    go to the first and run records to the second plus /v1/logs, as OpenTelemetry routes."""
    with OTLPReceiver() as spans_receiver, OTLPReceiver() as generic:
        _run(
            "implicit",
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=spans_receiver.traces_url,
            OTEL_EXPORTER_OTLP_ENDPOINT=generic.endpoint,
        )
        root = spans_receiver.wait_for_span(kind=attr.SpanKindValue.RUN, name="implicit")
        start = generic.wait_for_record(kind=attr.RecordKindValue.START, run_id=root.run_id)
        assert start.run_id == root.run_id
        assert spans_receiver.logs_request_count == 0
        assert generic.spans() == []
