"""OpenAI Agents SDK: agent and function-tool spans, handoffs, errors, dataflow LLM → tool → LLM."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

import spanflow
from spanflow import attributes
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Reply, ToolCall
from tests.frameworks.helpers import dataflow_producers, llm_tool_llm, spans_of_kind

agents = pytest.importorskip("agents")

WEATHER = "Oslo: 4 degrees Celsius, sleet turning to snow after midnight"


@agents.function_tool
def get_weather(city: str) -> str:
    """Look up the current weather of a city."""
    return WEATHER if city == "Oslo" else "unknown city"


@pytest.fixture
def agents_traced(traced: SpanCapture) -> Iterator[SpanCapture]:
    """The capture, with the SDK's own exporter (to api.openai.com) replaced by spanflow's only."""
    spanflow.uninstrument("openai_agents")
    agents.set_trace_processors([])
    spanflow.instrument("openai_agents")
    yield traced


def run_agent(llm: FakeLLMServer, prompt: str, **agent_options: Any) -> Any:
    """Run an agent named Forecaster on the fake server; the client is closed afterwards."""
    import openai

    async def main() -> Any:
        async with openai.AsyncOpenAI(
            base_url=llm.openai_base_url, api_key="sk-test-0000000000000000", max_retries=0
        ) as client:
            model = agents.OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client)
            agent = agents.Agent(name="Forecaster", model=model, **agent_options)
            return await agents.Runner.run(agent, prompt)

    return asyncio.run(main())


def test_agent_with_function_tool_produces_llm_tool_llm_dataflow(
    agents_traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """An agent turn that calls a tool gives invoke_agent > (LLM, execute_tool, LLM), linked."""
    llm.add_replies(
        Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"}, id="call_weather_1")]),
        "Pack a warm coat: it is 4 degrees with sleet.",
    )
    with spanflow.run("weather"):
        result = run_agent(llm, "What is the weather in Oslo?", tools=[get_weather])
    assert result.final_output == "Pack a warm coat: it is 4 degrees with sleet."
    first, tool_span, second = llm_tool_llm(agents_traced)
    (agent_span,) = spans_of_kind(agents_traced, attributes.SpanKindValue.AGENT)
    assert agent_span.name == "invoke_agent Forecaster"
    assert agent_span.attributes[attributes.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert agent_span.attributes[attributes.GEN_AI_AGENT_NAME] == "Forecaster"
    assert tool_span.name == "execute_tool get_weather"
    assert json.loads(tool_span.attributes[attributes.GEN_AI_TOOL_CALL_ARGUMENTS]) == {
        "city": "Oslo"
    }
    assert tool_span.attributes[attributes.GEN_AI_TOOL_CALL_RESULT] == WEATHER
    for child in (first, tool_span, second):
        assert child.parent_span_id == agent_span.span_id
    assert dataflow_producers(tool_span) == [first.span_id]
    assert tool_span.span_id in dataflow_producers(second)
    assert len(llm.requests) == 2


class StationOffline(Exception):
    """A tool failure the test can recognise by identity."""


def test_tool_error_sent_to_the_model_marks_the_tool_span(
    agents_traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """With the SDK's default error handler the run goes on; the tool span is ERROR."""

    @agents.function_tool
    def broken_station(city: str) -> str:
        """Read a weather station."""
        raise StationOffline("station 7 offline")

    llm.add_replies(
        Reply(tool_calls=[ToolCall("broken_station", {"city": "Oslo"})]),
        "The station is offline.",
    )
    with spanflow.run("weather"):
        result = run_agent(llm, "Weather?", tools=[broken_station])
    assert result.final_output == "The station is offline."
    (tool_span,) = spans_of_kind(agents_traced, attributes.SpanKindValue.TOOL)
    assert tool_span.status == "ERROR"
    assert tool_span.attributes[attributes.ERROR_TYPE] == "agents_error"


def test_tool_exception_propagates_as_the_sdk_raises_it(
    agents_traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """Without an error handler the SDK raises; the user's exception is the same object inside."""
    failure = StationOffline("station 7 offline")

    @agents.function_tool(failure_error_function=None)
    def broken_station(city: str) -> str:
        """Read a weather station."""
        raise failure

    llm.add_replies(Reply(tool_calls=[ToolCall("broken_station", {"city": "Oslo"})]))
    with pytest.raises(agents.UserError) as caught, spanflow.run("weather"):
        run_agent(llm, "Weather?", tools=[broken_station])
    assert caught.value.__cause__ is failure
    (tool_span,) = spans_of_kind(agents_traced, attributes.SpanKindValue.TOOL)
    assert tool_span.status == "ERROR"


def test_handoff_gives_a_handoff_span_and_a_second_agent_span(
    agents_traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A handoff is a chain span naming both agents; each agent turn is an invoke_agent span."""
    llm.add_replies(
        Reply(tool_calls=[ToolCall("transfer_to_translator", {})]),
        "Il fait 4 degrés à Oslo.",
    )

    async def main() -> Any:
        import openai

        async with openai.AsyncOpenAI(
            base_url=llm.openai_base_url, api_key="sk-test-0000000000000000", max_retries=0
        ) as client:
            model = agents.OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client)
            translator = agents.Agent(name="Translator", model=model)
            triage = agents.Agent(name="Triage", model=model, handoffs=[translator])
            return await agents.Runner.run(triage, "Weather in French, please")

    with spanflow.run("handoff"):
        result = asyncio.run(main())
    assert result.final_output == "Il fait 4 degrés à Oslo."
    agent_names = [
        span.attributes[attributes.GEN_AI_AGENT_NAME]
        for span in spans_of_kind(agents_traced, attributes.SpanKindValue.AGENT)
    ]
    assert agent_names == ["Triage", "Translator"]
    (handoff,) = spans_of_kind(agents_traced, attributes.SpanKindValue.CHAIN)
    assert handoff.attributes[attributes.HANDOFF_FROM_AGENT] == "Triage"
    assert handoff.attributes[attributes.HANDOFF_TO_AGENT] == "Translator"
    assert len(spans_of_kind(agents_traced, attributes.SpanKindValue.LLM)) == 2


def test_tripped_input_guardrail_is_a_chain_span_and_the_sdk_error_passes(
    agents_traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A guardrail run is a 'guardrail {name}' span saying it tripped; the SDK's error is raised."""

    @agents.input_guardrail
    def no_passwords(context: Any, agent: Any, prompt: Any) -> Any:
        return agents.GuardrailFunctionOutput(
            output_info="mentions a password", tripwire_triggered="password" in str(prompt)
        )

    llm.add_replies("I will not help with that.")
    with (
        pytest.raises(agents.InputGuardrailTripwireTriggered),
        spanflow.run("guarded"),
    ):
        run_agent(llm, "My password is hunter2", input_guardrails=[no_passwords])
    (guardrail,) = [
        span
        for span in spans_of_kind(agents_traced, attributes.SpanKindValue.CHAIN)
        if span.name.startswith("guardrail")
    ]
    assert guardrail.name == "guardrail no_passwords"
    assert guardrail.attributes[attributes.GUARDRAIL_TRIGGERED] is True
