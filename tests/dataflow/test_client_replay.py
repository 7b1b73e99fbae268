"""The corpus scenarios replay through the real openai/anthropic clients and the fake server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spanflow.testing import FakeLLMServer, capture_spans
from tests.dataflow.clients import ClientReplay, Clients
from tests.dataflow.corpus import all_scenarios

ENDPOINT_OF_API = {"chat": "chat.completions", "responses": "responses", "anthropic": "messages"}


def _untraced_step(*, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    del name
    return lambda func: func


def test_every_scenario_is_a_valid_conversation_for_the_real_clients() -> None:
    """Each LLM call of each scenario reaches the fake server in its provider's request shape."""
    with capture_spans(), FakeLLMServer() as llm, Clients(llm) as clients:
        for scenario in all_scenarios():
            data = scenario.to_data()
            llm_calls = [call for call in data["calls"] if call["kind"] == "llm"]
            clients.script(data)
            ClientReplay(data, clients, step=_untraced_step).run_all()
            assert len(llm.requests) == len(llm_calls), scenario.name
            for request, call in zip(llm.requests, llm_calls, strict=True):
                assert request.api == ENDPOINT_OF_API[call["api"]], scenario.name
                assert request.stream == bool(call["reply"]["stream"]), scenario.name
