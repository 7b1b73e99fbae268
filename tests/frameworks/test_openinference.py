"""OpenInference mode: span kinds and input/output values that Arize Phoenix understands."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

import spanflow
from spanflow import attributes
from spanflow.instrumentation import openinference
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Reply, ToolCall
from tests.frameworks.helpers import dataflow_producers, llm_tool_llm, spans_of_kind

pytest.importorskip("langgraph")

KIND = attributes.OPENINFERENCE_SPAN_KIND


@pytest.fixture
def openinference_on(traced: SpanCapture) -> Iterator[SpanCapture]:
    """The mode switched on for one test, back to the environment's default afterwards."""
    openinference.set_enabled(True)
    try:
        yield traced
    finally:
        openinference.set_enabled(None)


def run_weather_agent(llm: FakeLLMServer) -> None:
    from langchain.agents import create_agent
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    @tool
    def get_weather(city: str) -> str:
        """Look up the current weather of a city."""
        return "Oslo: 4 degrees Celsius, sleet turning to snow after midnight"

    llm.add_replies(
        Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"}, id="call_1")]), "Coat."
    )
    model = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=llm.openai_base_url,
        api_key="sk-test-0000000000000000",  # type: ignore[arg-type]
        max_retries=0,
    )
    with spanflow.run("weather"):
        create_agent(model, [get_weather]).invoke({"messages": [("user", "Weather in Oslo?")]})


def test_spans_carry_openinference_kinds_and_values(
    openinference_on: SpanCapture, llm: FakeLLMServer
) -> None:
    """LLM, TOOL and CHAIN kinds; the tool shows its input and output; links stay dataflow."""
    run_weather_agent(llm)
    first, tool_span, second = llm_tool_llm(openinference_on)
    assert first.attributes[KIND] == second.attributes[KIND] == "LLM"
    assert (
        first.attributes[attributes.INPUT_VALUE]
        == first.attributes[attributes.GEN_AI_INPUT_MESSAGES]
    )
    assert tool_span.attributes[KIND] == "TOOL"
    assert tool_span.attributes[attributes.INPUT_VALUE] == '{"city":"Oslo"}'
    assert tool_span.attributes[attributes.INPUT_MIME_TYPE] == "application/json"
    assert tool_span.attributes[attributes.OUTPUT_VALUE].startswith("Oslo: 4 degrees")
    assert tool_span.attributes[attributes.OUTPUT_MIME_TYPE] == "text/plain"
    for node in spans_of_kind(openinference_on, attributes.SpanKindValue.CHAIN):
        assert node.attributes[KIND] == "CHAIN"
    (run_root,) = spans_of_kind(openinference_on, attributes.SpanKindValue.RUN)
    assert run_root.attributes[KIND] == "CHAIN"
    assert dataflow_producers(tool_span) == [first.span_id]


def test_off_by_default_adds_nothing(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """Without the switch no OpenInference attribute is written."""
    run_weather_agent(llm)
    for span in traced.spans():
        assert KIND not in span.attributes
        assert attributes.INPUT_VALUE not in span.attributes


ENV_SCRIPT = """
    import spanflow
    from spanflow import attributes
    from spanflow.testing import capture_spans

    spanflow.configure(exporters=["none"])
    with capture_spans() as capture, spanflow.run("env-switch"):
        pass
    print(capture.runs()[0].root.attributes.get(attributes.OPENINFERENCE_SPAN_KIND))
"""


@pytest.mark.parametrize(("value", "expected"), [("true", "CHAIN"), ("", "None")])
def test_environment_variable_switches_the_mode(value: str, expected: str) -> None:
    """SPANFLOW_OPENINFERENCE=true turns the mode on when configure() reads the environment."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(ENV_SCRIPT)],
        env={"SPANFLOW_OPENINFERENCE": value, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected
