"""Every span spanflow starts names the same spanflow version and schema in its scope."""

from __future__ import annotations

from importlib.metadata import version

import pytest

import spanflow
from spanflow.cli import main
from spanflow.testing import FakeLLMServer, SpanCapture
from tests.instrumentation.helpers import openai_client


def test_runs_steps_and_llm_calls_carry_one_version_and_schema_url(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A run, a step and an LLM call inside them share spanflow's version and schema URL."""

    @spanflow.step
    def ask() -> str:
        reply = openai_client(llm).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Capital?"}]
        )
        return str(reply.choices[0].message.content)

    with spanflow.run("versioned"):
        ask()
    spanflow.force_flush()
    scopes = {span.instrumentation_scope for span in traced.exporter.get_finished_spans()}
    assert {scope.name for scope in scopes if scope is not None} >= {
        "spanflow",
        "spanflow.step",
        "spanflow.instrumentation.openai",
    }
    assert {(scope.version, scope.schema_url) for scope in scopes if scope is not None} == {
        (spanflow.__version__, "https://opentelemetry.io/schemas/1.37.0")
    }


def test_version_attribute_is_the_installed_distribution(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``spanflow.__version__`` and ``spanflow version`` print what pip installed."""
    assert spanflow.__version__ == version("spanflow")
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == spanflow.__version__
