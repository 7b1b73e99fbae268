"""instrument() / uninstrument(): idempotent, selective, fully undone, and found by OTel tooling."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import anthropic
import openai
import pytest
from openai import _base_client as openai_base

import spanflow
from spanflow import attributes as attr
from spanflow.instrumentation._api import PROVIDERS
from spanflow.instrumentation._instrumentor import LLMInstrumentor
from spanflow.instrumentation.anthropic import AnthropicInstrumentor
from spanflow.instrumentation.openai import OpenAIInstrumentor
from spanflow.testing import FakeLLMServer, OTLPReceiver, SpanCapture
from tests.instrumentation.helpers import anthropic_client, llm_spans, openai_client

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
MESSAGES = {"model": "claude-3-5-haiku", "max_tokens": 16, "messages": CHAT["messages"]}


def test_a_client_created_before_instrument_is_traced(
    spanflow_capture: SpanCapture, llm: FakeLLMServer
) -> None:
    """Instrumenting patches the client classes, so existing client objects are covered."""
    client = openai_client(llm)
    spanflow.instrument()
    try:
        client.chat.completions.create(**CHAT)
    finally:
        spanflow.uninstrument()
    assert len(llm_spans(spanflow_capture)) == 1


def test_instrumenting_twice_still_gives_one_span_per_call(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A second instrument() is a no-op: no doubled spans."""
    assert spanflow.instrument()[: len(PROVIDERS)] == list(PROVIDERS)  # then installed frameworks
    openai_client(llm).chat.completions.create(**CHAT)
    anthropic_client(llm).messages.create(**MESSAGES)
    assert len(llm_spans(traced)) == 2


def test_uninstrument_restores_the_original_client_code(
    spanflow_capture: SpanCapture, llm: FakeLLMServer
) -> None:
    """After uninstrument() the request methods are the library's own and calls make no span."""
    original = openai_base.SyncAPIClient.request
    spanflow.instrument()
    assert openai_base.SyncAPIClient.request is not original
    spanflow.uninstrument()
    assert openai_base.SyncAPIClient.request is original
    openai_client(llm).chat.completions.create(**CHAT)
    anthropic_client(llm).messages.create(**MESSAGES)
    assert llm_spans(spanflow_capture) == []


def test_instrumenting_one_provider_leaves_the_other_alone(
    spanflow_capture: SpanCapture, llm: FakeLLMServer
) -> None:
    """instrument("openai") traces OpenAI calls only."""
    assert spanflow.instrument("openai") == ["openai"]
    try:
        openai_client(llm).chat.completions.create(**CHAT)
        anthropic_client(llm).messages.create(**MESSAGES)
    finally:
        spanflow.uninstrument()
    (span,) = llm_spans(spanflow_capture)
    assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == "openai"


def test_an_unknown_provider_is_a_clear_error() -> None:
    """A typo names the providers spanflow knows."""
    with pytest.raises(ValueError, match=r"unknown LLM provider\(s\) 'opneai'.*openai, anthropic"):
        spanflow.instrument("opneai")


def test_the_instrumentors_declare_their_client_versions() -> None:
    """The BaseInstrumentor version check knows which client libraries each one needs."""
    assert list(OpenAIInstrumentor().instrumentation_dependencies()) == ["openai >= 1.0"]
    assert list(AnthropicInstrumentor().instrumentation_dependencies()) == ["anthropic >= 0.30"]
    assert openai.__version__ and anthropic.__version__


def test_entry_points_name_the_instrumentors() -> None:
    """opentelemetry-instrument finds spanflow's instrumentors through their entry points."""
    found = {
        entry.name: entry.load()
        for entry in importlib.metadata.entry_points(group="opentelemetry_instrumentor")
        if entry.name.startswith("spanflow_")
    }
    assert found["spanflow_openai"] is OpenAIInstrumentor
    assert found["spanflow_anthropic"] is AnthropicInstrumentor
    # Frameworks add their own entry points: tests/frameworks/test_instrument_api.py
    assert {f"spanflow_{name}" for name in PROVIDERS} <= set(found)
    assert all(issubclass(found[f"spanflow_{name}"], LLMInstrumentor) for name in PROVIDERS)


SCRIPT = """
    import os
    from openai import OpenAI

    with OpenAI(base_url=os.environ["FAKE_OPENAI_URL"], api_key="sk-test") as client:
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
        )
    print(reply.choices[0].message.content)
"""


def test_opentelemetry_instrument_traces_an_unmodified_script(
    tmp_path: Path, llm: FakeLLMServer
) -> None:
    """`opentelemetry-instrument python app.py` exports spanflow's GenAI span over OTLP."""
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(SCRIPT))
    command = Path(sys.executable).with_name("opentelemetry-instrument")
    assert command.exists(), "opentelemetry-instrumentation's CLI must be installed (dev extra)"
    with OTLPReceiver() as receiver:
        environment = {
            **os.environ,
            "FAKE_OPENAI_URL": llm.openai_base_url,
            "OTEL_SERVICE_NAME": "plain-app",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "",
        }
        done = subprocess.run(
            [str(command), sys.executable, str(script)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "Echo: Hi"
        span = receiver.wait_for_span(kind=attr.SpanKindValue.LLM)
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == "openai"
    assert span.resource_attributes["service.name"] == "plain-app"
