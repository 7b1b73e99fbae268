"""The pytest plugin's fixtures, used the way a user's own test suite uses them."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = """
import spanflow
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor


def test_capture_gives_runs_back(spanflow_capture):
    with spanflow.run("user-eval", params={"k": 3}) as run:
        with spanflow.run("user-sample"):
            spanflow.log_metric("correct", 1.0)
        spanflow.log_metric("accuracy", 0.5, step=1)
    evaluation = spanflow_capture.run("user-eval")
    assert evaluation.id == run.id and evaluation.status == "completed"
    assert evaluation.params == {"k": 3} and evaluation.metrics == {"accuracy": 0.5}
    (sample,) = [r for r in spanflow_capture.runs() if r.parent_id == run.id]
    assert sample.name == "user-sample"


def test_capture_is_deterministic(spanflow_capture):
    with spanflow.run() as run:
        pass
    assert spanflow_capture.run(run.name).root.trace_id == "00000000000000000000000000000001"


def test_receiver_decodes_what_arrives(spanflow_otlp_receiver):
    exporter = OTLPSpanExporter(endpoint=spanflow_otlp_receiver.traces_url)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.get_tracer("user").start_span("over-the-wire").end()
    provider.shutdown()
    span = spanflow_otlp_receiver.wait_for_span(name="over-the-wire")
    assert len(span.trace_id) == 32
"""


def test_the_fixtures_work_in_a_users_test_suite(pytester: pytest.Pytester) -> None:
    """A fresh test suite gets spanflow_capture and spanflow_otlp_receiver from the plugin."""
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
