"""MCP client calls: tool and resource spans with arguments and results, errors, dataflow."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from opentelemetry import trace

import spanflow
from spanflow import attributes
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Reply, ToolCall
from tests.frameworks.helpers import dataflow_producers, llm_tool_llm, spans_of_kind

mcp = pytest.importorskip("mcp")
from mcp.server.mcpserver import MCPServer  # noqa: E402

WEATHER = "Oslo: 4 degrees Celsius, sleet turning to snow after midnight"


def weather_server() -> MCPServer:
    """An in-process MCP server with one tool and one resource."""
    server = MCPServer("weather")

    @server.tool()
    def get_weather(city: str) -> str:
        """Look up the current weather of a city."""
        if city == "Atlantis":
            raise LookupError("no weather station in Atlantis")
        return WEATHER

    @server.resource("weather://oslo/forecast")
    def oslo_forecast() -> str:
        return "Tomorrow in Oslo: clear skies, minus 2 degrees, light wind from the north"

    return server


def with_client(use: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run ``use(client)`` against the weather server over the in-memory transport."""

    async def main() -> Any:
        async with mcp.Client(weather_server()) as client:
            return await use(client)

    return asyncio.run(main())


def test_call_tool_is_an_execute_tool_span_with_arguments_and_result(
    traced: SpanCapture,
) -> None:
    """call_tool gives one execute_tool span (type extension) around the SDK's transport span."""
    result = with_client(lambda client: client.call_tool("get_weather", {"city": "Oslo"}))
    assert result.content[0].text == WEATHER
    (tool_span,) = spans_of_kind(traced, attributes.SpanKindValue.TOOL)
    assert tool_span.name == "execute_tool get_weather"
    assert tool_span.attributes[attributes.GEN_AI_TOOL_TYPE] == "extension"
    assert tool_span.attributes[attributes.MCP_METHOD_NAME] == "tools/call"
    assert json.loads(tool_span.attributes[attributes.GEN_AI_TOOL_CALL_ARGUMENTS]) == {
        "city": "Oslo"
    }
    assert tool_span.attributes[attributes.GEN_AI_TOOL_CALL_RESULT] == WEATHER
    assert tool_span.status == "UNSET"


def test_tool_error_result_marks_the_span_without_raising(traced: SpanCapture) -> None:
    """A tool that fails on the server answers isError; the span says so, nothing is raised."""
    result = with_client(lambda client: client.call_tool("get_weather", {"city": "Atlantis"}))
    assert result.is_error
    (tool_span,) = spans_of_kind(traced, attributes.SpanKindValue.TOOL)
    assert tool_span.status == "ERROR"
    assert tool_span.attributes[attributes.ERROR_TYPE] == "tool_error"


def test_read_resource_span_and_raised_error_passes_through(traced: SpanCapture) -> None:
    """read_resource is a resources/read span; an unknown resource's error is re-raised as is."""

    async def read_both(client: Any) -> tuple[Any, BaseException | None]:
        found = await client.read_resource("weather://oslo/forecast")
        try:
            await client.read_resource("weather://nowhere")
        except Exception as error:  # the SDK's own error type
            return found, error
        return found, None

    found, error = with_client(read_both)
    assert found.contents[0].text.startswith("Tomorrow in Oslo")
    assert type(error).__name__ == "MCPError"
    ok, failed = spans_of_kind(traced, attributes.SpanKindValue.TOOL)
    assert ok.name == "resources/read weather://oslo/forecast"
    assert ok.attributes[attributes.MCP_RESOURCE_URI] == "weather://oslo/forecast"
    assert ok.attributes[attributes.GEN_AI_TOOL_CALL_RESULT].startswith("Tomorrow in Oslo")
    assert failed.status == "ERROR"
    assert failed.attributes[attributes.ERROR_TYPE] == "MCPError"


def test_llm_mcp_tool_llm_dataflow(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """An app passing a model's tool call to an MCP server and the result back links them."""
    import openai

    llm.add_replies(
        Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"}, id="call_weather_1")]),
        "Pack a warm coat.",
    )

    async def agent_loop(client: Any) -> str:
        async with openai.AsyncOpenAI(
            base_url=llm.openai_base_url, api_key="sk-test-0000000000000000", max_retries=0
        ) as model:
            messages: list[Any] = [{"role": "user", "content": "Weather in Oslo?"}]
            first = await model.chat.completions.create(model="gpt-4o-mini", messages=messages)
            call = first.choices[0].message.tool_calls[0]
            result = await client.call_tool(call.function.name, json.loads(call.function.arguments))
            messages += [
                first.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": result.content[0].text},
            ]
            second = await model.chat.completions.create(model="gpt-4o-mini", messages=messages)
            return str(second.choices[0].message.content)

    with spanflow.run("mcp-weather"):
        assert with_client(agent_loop) == "Pack a warm coat."
    first, tool_span, second = llm_tool_llm(traced)
    assert dataflow_producers(tool_span) == [first.span_id]
    assert tool_span.span_id in dataflow_producers(second)


def test_uninstrument_restores_the_session(traced: SpanCapture) -> None:
    """After uninstrument("mcp") a tool call makes no spanflow span; instrument brings it back."""
    spanflow.uninstrument("mcp")
    with_client(lambda client: client.call_tool("get_weather", {"city": "Oslo"}))
    assert spans_of_kind(traced, attributes.SpanKindValue.TOOL) == []
    spanflow.instrument("mcp")
    with trace.get_tracer("test").start_as_current_span("request"):
        with_client(lambda client: client.call_tool("get_weather", {"city": "Oslo"}))
    assert len(spans_of_kind(traced, attributes.SpanKindValue.TOOL)) == 1
