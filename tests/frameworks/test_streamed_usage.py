"""Token usage of framework-made streamed LLM calls: counted when reported, else 'unknown'."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from spanflow import attributes
from spanflow.testing import FakeLLMServer, SpanCapture
from tests.frameworks.helpers import spans_of_kind

pytest.importorskip("langchain_openai")
pytest.importorskip("agents")


def streamed_chat(llm: FakeLLMServer, **options: Any) -> str:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=llm.openai_base_url,
        api_key="sk-test-0000000000000000",  # type: ignore[arg-type]
        max_retries=0,
        **options,
    )
    return "".join(str(chunk.content) for chunk in model.stream("Hello there"))


def test_langchain_stream_without_usage_says_unknown_not_zero(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """ChatOpenAI streams against a custom base URL without usage: tokens unknown, never 0."""
    assert streamed_chat(llm) == "Echo: Hello there"
    (span,) = spans_of_kind(traced, attributes.SpanKindValue.LLM)
    assert span.attributes[attributes.USAGE_UNKNOWN] is True
    assert attributes.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
    assert attributes.GEN_AI_USAGE_OUTPUT_TOKENS not in span.attributes


def test_langchain_stream_with_usage_is_counted(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """stream_usage=True makes LangChain ask for usage; the one LLM span carries the counts."""
    assert streamed_chat(llm, stream_usage=True) == "Echo: Hello there"
    (span,) = spans_of_kind(traced, attributes.SpanKindValue.LLM)
    assert span.attributes[attributes.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert attributes.USAGE_UNKNOWN not in span.attributes


def test_agents_streamed_run_reports_usage(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """Runner.run_streamed uses the Responses stream, whose completed event carries usage."""
    import agents
    import openai

    agents.set_trace_processors([])

    async def main() -> Any:
        async with openai.AsyncOpenAI(
            base_url=llm.openai_base_url, api_key="sk-test-0000000000000000", max_retries=0
        ) as client:
            model = agents.OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client)
            result = agents.Runner.run_streamed(agents.Agent(name="Echo", model=model), "Hi")
            async for _ in result.stream_events():
                pass
            return result.final_output

    assert asyncio.run(main()) == "Echo: Hi"
    (span,) = spans_of_kind(traced, attributes.SpanKindValue.LLM)
    assert span.attributes[attributes.SPAN_KIND] == "llm" and span.attributes[attributes.STREAM]
    assert span.attributes[attributes.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
