"""Fault injection: a failure inside spanflow's framework hooks never changes what tools do."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import context as otel_context

import spanflow
from spanflow.instrumentation import operations
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Reply, ToolCall

pytest.importorskip("langchain_core")
pytest.importorskip("agents")
pytest.importorskip("mcp")

FAULT_POINTS = [
    "_start_attributes",  # building the span
    "_set_content",  # recording arguments/result
    "_inputs",  # dataflow inputs
    "_output_fields",  # dataflow outputs
    "record_error",  # recording the tool's exception
    "_detach",  # leaving the span's context
]


class InjectedFault(RuntimeError):
    """Raised by the sabotaged spanflow internals."""


class StationOffline(Exception):
    """The tool's own failure."""


@pytest.fixture(params=FAULT_POINTS)
def sabotaged(
    request: pytest.FixtureRequest, traced: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """One of spanflow's hook internals raises on every call."""

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise InjectedFault(request.param)

    monkeypatch.setattr(operations, request.param, explode)
    # With _detach broken, tool spans stay current: restore this thread's context afterwards.
    token = otel_context.attach(otel_context.get_current())
    yield str(request.param)
    otel_context.detach(token)


def test_langchain_tool_result_and_error_survive(
    sabotaged: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The tool's value and its exception object come back as without spanflow; a log says why."""
    from langchain_core.tools import tool

    failure = StationOffline("offline")

    @tool
    def forecast(city: str) -> dict[str, Any]:
        """Forecast."""
        return {"city": city, "degrees": 4}

    @tool
    def broken(city: str) -> str:
        """Broken."""
        raise failure

    with caplog.at_level(logging.WARNING, logger="spanflow"):
        assert forecast.invoke({"city": "Oslo"}) == {"city": "Oslo", "degrees": 4}
        with pytest.raises(StationOffline) as caught:
            broken.invoke({"city": "Oslo"})
    assert caught.value is failure
    assert "internal error while" in caplog.text  # said once, not raised


def test_mcp_call_result_survives(sabotaged: str) -> None:
    """An MCP tool result is returned unchanged when spanflow's hook fails."""
    import mcp
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("faults")

    @server.tool()
    def echo(text: str) -> str:
        """Echo."""
        return text

    async def main() -> Any:
        async with mcp.Client(server) as client:
            return await client.call_tool("echo", {"text": "unchanged"})

    assert asyncio.run(main()).content[0].text == "unchanged"


def test_agents_run_result_survives(sabotaged: str, llm: FakeLLMServer) -> None:
    """An Agents SDK run with a tool ends with the same output when spanflow's hook fails."""
    import agents
    import openai

    @agents.function_tool
    def forecast(city: str) -> str:
        """Forecast."""
        return f"{city}: 4 degrees"

    agents.set_trace_processors([])
    spanflow.instrument("openai_agents")
    llm.add_replies(Reply(tool_calls=[ToolCall("forecast", {"city": "Oslo"})]), "4 degrees.")

    async def main() -> Any:
        async with openai.AsyncOpenAI(
            base_url=llm.openai_base_url, api_key="sk-test-0000000000000000", max_retries=0
        ) as client:
            model = agents.OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client)
            agent = agents.Agent(name="Forecaster", model=model, tools=[forecast])
            return await agents.Runner.run(agent, "Weather?")

    result = asyncio.run(main())
    assert result.final_output == "4 degrees."
    assert "Oslo: 4 degrees" in str(result.new_items)


def test_langgraph_agent_answer_survives(sabotaged: str, llm: FakeLLMServer) -> None:
    """A LangGraph agent with a tool answers as without spanflow when spanflow's hooks fail."""
    from langchain.agents import create_agent
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    @tool
    def forecast(city: str) -> str:
        """Forecast."""
        return f"{city}: 4 degrees"

    llm.add_replies(Reply(tool_calls=[ToolCall("forecast", {"city": "Oslo"})]), "4 degrees.")
    model = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=llm.openai_base_url,
        api_key="sk-test-0000000000000000",  # type: ignore[arg-type]
        max_retries=0,
    )
    with spanflow.run("faulty"):
        result = create_agent(model, [forecast]).invoke({"messages": [("user", "Weather?")]})
    assert [message.content for message in result["messages"][-2:]] == [
        "Oslo: 4 degrees",
        "4 degrees.",
    ]
