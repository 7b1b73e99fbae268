"""LangChain tools and LangGraph agents: tool spans, node spans, dataflow LLM → tool → LLM."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import spanflow
from spanflow import attributes
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Reply, ToolCall
from tests.frameworks.helpers import dataflow_producers, llm_tool_llm, spans_of_kind

pytest.importorskip("langgraph")
from langchain_core.tools import ToolException, tool
from langchain_openai import ChatOpenAI

WEATHER = "Oslo: 4 degrees Celsius, sleet turning to snow after midnight"


@tool
def get_weather(city: str) -> str:
    """Look up the current weather of a city."""
    return WEATHER if city == "Oslo" else "unknown city"


def chat_model(llm: FakeLLMServer) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4o-mini",
        base_url=llm.openai_base_url,
        api_key="sk-test-0000000000000000",  # type: ignore[arg-type]
        max_retries=0,
    )


def react_agent(llm: FakeLLMServer, tools: list[Any]) -> Any:
    from langchain.agents import create_agent

    return create_agent(chat_model(llm), tools)


def test_react_agent_produces_llm_tool_llm_dataflow(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A ReAct agent's tool call is a span between its two LLM calls, linked both ways."""
    llm.add_replies(
        Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"}, id="call_weather_1")]),
        "Pack a warm coat: it is 4 degrees with sleet.",
    )
    agent = react_agent(llm, [get_weather])
    with spanflow.run("weather"):
        result = agent.invoke({"messages": [("user", "What is the weather in Oslo?")]})
    assert result["messages"][-1].content == "Pack a warm coat: it is 4 degrees with sleet."
    first, tool_span, second = llm_tool_llm(traced)
    assert tool_span.name == "execute_tool get_weather"
    assert tool_span.attributes[attributes.GEN_AI_OPERATION_NAME] == "execute_tool"
    assert tool_span.attributes[attributes.GEN_AI_TOOL_NAME] == "get_weather"
    assert tool_span.attributes[attributes.GEN_AI_TOOL_CALL_ID] == "call_weather_1"
    assert tool_span.attributes[attributes.GEN_AI_TOOL_TYPE] == "function"
    assert json.loads(tool_span.attributes[attributes.GEN_AI_TOOL_CALL_ARGUMENTS]) == {
        "city": "Oslo"
    }
    assert tool_span.attributes[attributes.GEN_AI_TOOL_CALL_RESULT] == WEATHER
    assert dataflow_producers(tool_span) == [first.span_id]
    assert tool_span.span_id in dataflow_producers(second)
    assert len(llm.requests) == 2 and len(spans_of_kind(traced, attributes.SpanKindValue.LLM)) == 2


class StationOffline(Exception):
    """A tool failure the test can recognise by identity."""


def test_tool_error_is_recorded_and_reraised_unchanged(traced: SpanCapture) -> None:
    """A tool's exception reaches the caller as the same object; the span is ERROR with its type."""
    failure = StationOffline("station 7 offline")

    @tool
    def broken_station(city: str) -> str:
        """Read the weather station of a city."""
        raise failure

    with pytest.raises(StationOffline) as caught:
        broken_station.invoke({"city": "Oslo"})
    assert caught.value is failure
    (tool_span,) = spans_of_kind(traced, attributes.SpanKindValue.TOOL)
    assert tool_span.status == "ERROR"
    assert tool_span.attributes[attributes.ERROR_TYPE] == "StationOffline"
    assert any(event.name == "exception" for event in tool_span.events)


def test_handled_tool_error_marks_the_span_and_returns_the_message(traced: SpanCapture) -> None:
    """handle_tool_error turns a ToolException into the returned text; the span is still ERROR."""

    @tool
    def flaky(city: str) -> str:
        """A tool whose failures the model is told about."""
        raise ToolException("try again later")

    flaky.handle_tool_error = True
    message = flaky.invoke(
        {"name": "flaky", "args": {"city": "Oslo"}, "id": "call_9", "type": "tool_call"}
    )
    assert message.content == "try again later" and message.status == "error"
    (tool_span,) = spans_of_kind(traced, attributes.SpanKindValue.TOOL)
    assert tool_span.status == "ERROR"
    assert tool_span.attributes[attributes.GEN_AI_TOOL_CALL_ID] == "call_9"
    assert tool_span.attributes[attributes.GEN_AI_TOOL_CALL_RESULT] == "try again later"


def test_async_tool_call_is_traced(traced: SpanCapture) -> None:
    """ainvoke goes through BaseTool.arun and gives one span with the result."""

    @tool
    async def aget_weather(city: str) -> str:
        """Look up the weather, asynchronously."""
        return f"{city}: mild"

    assert asyncio.run(aget_weather.ainvoke({"city": "Bergen"})) == "Bergen: mild"
    (tool_span,) = spans_of_kind(traced, attributes.SpanKindValue.TOOL)
    assert tool_span.name == "execute_tool aget_weather"
    assert tool_span.attributes[attributes.GEN_AI_TOOL_CALL_RESULT] == "Bergen: mild"


def test_without_content_capture_no_arguments_or_result_are_recorded(traced: SpanCapture) -> None:
    """With capture_content off the span keeps name and id, never the values."""
    from spanflow.instrumentation import content

    content.set_content_capture(enabled=False)
    try:
        assert get_weather.invoke({"city": "Oslo"}) == WEATHER
    finally:
        content.set_content_capture()
    (tool_span,) = spans_of_kind(traced, attributes.SpanKindValue.TOOL)
    assert attributes.GEN_AI_TOOL_CALL_ARGUMENTS not in tool_span.attributes
    assert attributes.GEN_AI_TOOL_CALL_RESULT not in tool_span.attributes
    assert tool_span.attributes[attributes.GEN_AI_TOOL_NAME] == "get_weather"


def test_secrets_in_tool_arguments_are_redacted(traced: SpanCapture) -> None:
    """A credential passed to a tool is stored redacted, like every captured value."""
    key = "sk-proj-" + "Q7v2Xk9LmN4pR8sT1uW3yZ6bC5dF0gH2"

    @tool
    def call_api(api_key: str) -> str:
        """Call an API with a key."""
        return "ok"

    assert call_api.invoke({"api_key": key}) == "ok"
    (tool_span,) = spans_of_kind(traced, attributes.SpanKindValue.TOOL)
    assert key not in tool_span.attributes[attributes.GEN_AI_TOOL_CALL_ARGUMENTS]
    assert "REDACTED" in tool_span.attributes[attributes.GEN_AI_TOOL_CALL_ARGUMENTS]


def test_graph_nodes_are_chain_spans_parenting_llm_and_tool(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """Each LangGraph node run is a chain span; the LLM span and the tool span are its children."""
    llm.add_replies(
        Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"}, id="call_weather_1")]),
        "Done.",
    )
    with spanflow.run("weather"):
        react_agent(llm, [get_weather]).invoke({"messages": [("user", "Weather in Oslo?")]})
    first, tool_span, second = llm_tool_llm(traced)
    nodes = {span.span_id: span for span in spans_of_kind(traced, attributes.SpanKindValue.CHAIN)}
    assert nodes[first.parent_span_id].name == "model"
    assert nodes[tool_span.parent_span_id].name == "tools"
    assert nodes[second.parent_span_id].attributes[attributes.LANGGRAPH_STEP] > 1
    (agent_span,) = spans_of_kind(traced, attributes.SpanKindValue.AGENT)
    assert agent_span.name == "invoke_agent LangGraph"
    assert agent_span.attributes[attributes.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert {node.parent_span_id for node in nodes.values()} == {agent_span.span_id}


def test_outside_a_run_one_invocation_is_one_linked_trace(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """Without spanflow.run() the graph span roots one trace, and dataflow links within it."""
    llm.add_replies(
        Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"}, id="call_weather_1")]),
        "Done.",
    )
    asyncio.run(
        react_agent(llm, [get_weather]).ainvoke({"messages": [("user", "Weather in Oslo?")]})
    )
    first, tool_span, second = llm_tool_llm(traced)
    (agent_span,) = spans_of_kind(traced, attributes.SpanKindValue.AGENT)
    assert agent_span.parent_span_id is None
    assert {span.trace_id for span in traced.spans()} == {agent_span.trace_id}
    assert dataflow_producers(tool_span) == [first.span_id]
    assert tool_span.span_id in dataflow_producers(second)


def test_dataflow_graph_shows_llm_tool_llm(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """spanflow's dataflow graph of the agent run has the tool as a node between the LLM calls."""
    from spanflow.dataflow import DataflowGraph

    llm.add_replies(
        Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"}, id="call_weather_1")]),
        "Pack a warm coat: it is 4 degrees with sleet.",
    )
    with spanflow.run("weather"):
        react_agent(llm, [get_weather]).invoke({"messages": [("user", "Weather in Oslo?")]})
    first, tool_span, second = llm_tool_llm(traced)
    graph = DataflowGraph.from_spans(traced.spans())
    kinds = {node.span_id: node.kind for node in graph.nodes}
    assert kinds[tool_span.span_id] == attributes.SpanKindValue.TOOL
    edges = {(edge.producer, edge.consumer) for edge in graph.edges}
    assert (first.span_id, tool_span.span_id) in edges
    assert (tool_span.span_id, second.span_id) in edges
    (tool_node,) = [node for node in graph.nodes if node.span_id == tool_span.span_id]
    assert tool_node.output_preview.startswith("Oslo: 4 degrees")


def test_interrupt_is_not_recorded_as_a_failure(traced: SpanCapture) -> None:
    """A node that interrupts for human input leaves its node and graph spans without ERROR."""
    from typing import TypedDict

    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    class State(TypedDict):
        answer: str

    def ask_human(state: State) -> State:
        return {"answer": str(interrupt("Approve the trip to Oslo?"))}

    builder = StateGraph(State)
    builder.add_node("ask_human", ask_human)
    builder.add_edge(START, "ask_human")
    builder.add_edge("ask_human", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    result = graph.invoke({"answer": ""}, {"configurable": {"thread_id": "trip-1"}})
    assert result["__interrupt__"][0].value == "Approve the trip to Oslo?"
    (node,) = spans_of_kind(traced, attributes.SpanKindValue.CHAIN)
    (agent_span,) = spans_of_kind(traced, attributes.SpanKindValue.AGENT)
    assert node.name == "ask_human"
    assert node.status != "ERROR" and agent_span.status != "ERROR"
