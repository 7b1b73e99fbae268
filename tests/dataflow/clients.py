"""Replays scenario data through the real ``openai``/``anthropic`` clients and ``@spanflow.step``.

The fake LLM server answers each LLM call with the scenario's scripted reply; the agent side
sends the scenario's messages in each provider's own request shape, inside ``spanflow.run``
(and subruns), with spanflow's instrumentation doing what it does for any user. The found edges
come from the span links the instrumented spans carry.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import spanflow
from spanflow import attributes as attr
from spanflow.dataflow import DataflowGraph
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Reply, ToolCall

MODEL = "fake-model"


def scripted_replies(scenario: dict[str, Any]) -> list[Reply]:
    """The fake server's turns: one reply per LLM call, in call order."""
    return [
        Reply(
            text=call["reply"].get("text") or "",
            tool_calls=[
                ToolCall(tc["name"], tc["arguments"], id=tc["id"])
                for tc in call["reply"].get("tool_calls") or ()
            ],
        )
        for call in scenario["calls"]
        if call["kind"] == "llm"
    ]


class Clients:
    """Real OpenAI and Anthropic clients pointed at one fake server."""

    def __init__(self, llm: FakeLLMServer) -> None:
        from anthropic import Anthropic
        from openai import OpenAI

        self.llm = llm
        self.openai = OpenAI(base_url=llm.openai_base_url, api_key="test", max_retries=0)
        self.anthropic = Anthropic(base_url=llm.anthropic_base_url, api_key="test", max_retries=0)

    def __enter__(self) -> Clients:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.openai.close()
        self.anthropic.close()

    def script(self, scenario: dict[str, Any]) -> None:
        """Forget earlier requests and turns; answer ``scenario``'s calls next."""
        self.llm.reset()
        self.llm.add_replies(*scripted_replies(scenario))


class ClientReplay:
    """Runs one scenario's calls against a fake server, each in its own run context."""

    def __init__(
        self,
        scenario: dict[str, Any],
        clients: Clients,
        *,
        step: Callable[..., Any] | None = None,
    ) -> None:
        self.scenario = scenario
        self.step = step if step is not None else spanflow.step  # type: ignore[attr-defined]
        self.openai = clients.openai
        self.anthropic = clients.anthropic
        self.responses: dict[str, Any] = {}  # call id -> the provider's response object
        self.contexts: dict[str, contextvars.Context] = {}
        self.open_runs: list[tuple[contextvars.Context, AbstractContextManager[Any]]] = []

    def run_all(self) -> None:
        """Make every call in order, then close the runs (children first)."""
        try:
            for call in self.scenario["calls"]:
                self._context_of(call["run"]).run(self._make, call)
        finally:
            for context, run in reversed(self.open_runs):
                context.run(run.__exit__, None, None, None)

    def _context_of(self, run_key: str) -> contextvars.Context:
        found = self.contexts.get(run_key)
        if found is not None:
            return found
        parent_key = self.scenario["runs"][run_key]
        base = self._context_of(parent_key) if parent_key else contextvars.copy_context()
        context = base.run(contextvars.copy_context)
        run = spanflow.run(f"{self.scenario['name']}:{run_key}")
        context.run(run.__enter__)
        self.open_runs.append((context, run))
        self.contexts[run_key] = context
        return context

    def _make(self, call: dict[str, Any]) -> None:
        if call["kind"] == "step":
            returns = call["returns"]
            traced: Callable[..., Any] = self.step(name=call["name"])(lambda **_: returns)
            traced(**call["args"])
            return
        api = call["api"]
        if api == "chat":
            self.responses[call["id"]] = self._chat(call)
        elif api == "responses":
            self.responses[call["id"]] = self._responses(call)
        else:
            self.responses[call["id"]] = self._anthropic(call)

    def _chat(self, call: dict[str, Any]) -> Any:
        messages = [_chat_message(m) for m in call["messages"]]
        stream = bool(call["reply"].get("stream"))
        result = self.openai.chat.completions.create(model=MODEL, messages=messages, stream=stream)
        if stream:
            for _ in result:
                pass
        return result

    def _responses(self, call: dict[str, Any]) -> Any:
        items: list[Any] = []
        for message in call["messages"]:
            if message.get("type") == "item_ref":
                items.append(self._output_item(message["id"]))
            elif message.get("role") == "tool":
                items.append(
                    {
                        "type": "function_call_output",
                        "call_id": message["tool_call_id"],
                        "output": message["content"],
                    }
                )
            else:
                items.append({"role": message["role"], "content": message["content"]})
        options: dict[str, Any] = {}
        if call.get("previous"):
            options["previous_response_id"] = self.responses[call["previous"]].id
        stream = bool(call["reply"].get("stream"))
        result = self.openai.responses.create(model=MODEL, input=items, stream=stream, **options)
        if stream:
            completed = None
            for event in result:
                if getattr(event, "type", "") == "response.completed":
                    completed = event.response
            return completed
        return result

    def _output_item(self, ref: str) -> dict[str, Any]:
        kind, _, key = ref.partition("_")
        if kind == "msg":
            response = self.responses[key]
            item = next(i for i in response.output if i.type == "message")
        else:
            item = next(
                i
                for response in self.responses.values()
                for i in getattr(response, "output", ())
                if i.type == "function_call" and i.call_id == key
            )
        dumped: dict[str, Any] = item.model_dump(exclude_none=True)
        return dumped

    def _anthropic(self, call: dict[str, Any]) -> Any:
        system = [m["content"] for m in call["messages"] if m.get("role") == "system"]
        messages: list[dict[str, Any]] = []
        for message in call["messages"]:
            role = message.get("role")
            if role == "system":
                continue
            if role == "tool":
                block = {
                    "type": "tool_result",
                    "tool_use_id": message["tool_call_id"],
                    "content": message["content"],
                }
                if messages and messages[-1]["role"] == "user" and _is_tool_results(messages[-1]):
                    messages[-1]["content"].append(block)
                else:
                    messages.append({"role": "user", "content": [block]})
            elif role == "assistant":
                blocks: list[dict[str, Any]] = []
                if message.get("content"):
                    blocks.append({"type": "text", "text": message["content"]})
                blocks.extend(
                    {
                        "type": "tool_use",
                        "id": tc["id"],
                        "name": tc["name"],
                        "input": json.loads(tc["arguments"]),
                    }
                    for tc in message.get("tool_calls") or ()
                )
                messages.append({"role": "assistant", "content": blocks})
            else:
                messages.append({"role": "user", "content": message["content"]})
        options: dict[str, Any] = {"system": "\n".join(system)} if system else {}
        stream = bool(call["reply"].get("stream"))
        result = self.anthropic.messages.create(
            model=MODEL, max_tokens=1024, messages=messages, stream=stream, **options
        )
        if stream:
            for _ in result:
                pass
        return result


def _chat_message(message: dict[str, Any]) -> dict[str, Any]:
    role = message["role"]
    if role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message["tool_call_id"],
            "content": message["content"],
        }
    found: dict[str, Any] = {"role": role, "content": message.get("content")}
    if message.get("tool_calls"):
        found["tool_calls"] = [
            {
                "id": tc["id"],
                "type": "function",
                "function": {"name": tc["name"], "arguments": tc["arguments"]},
            }
            for tc in message["tool_calls"]
        ]
    return found


def _is_tool_results(message: dict[str, Any]) -> bool:
    content = message["content"]
    return isinstance(content, list) and all(b.get("type") == "tool_result" for b in content)


def found_edges(scenario: dict[str, Any], capture: SpanCapture) -> set[tuple[str, str]]:
    """``(producer, consumer)`` call ids from the captured spans' dataflow links.

    Calls run one after another, so the LLM and step spans in start order are the calls in
    scenario order.
    """
    spans = [
        span
        for span in sorted(capture.spans(), key=lambda s: s.start_time_ns)
        if span.spanflow_kind in (attr.SpanKindValue.LLM, attr.SpanKindValue.STEP)
    ]
    calls = scenario["calls"]
    assert len(spans) == len(calls), f"{scenario['name']}: {len(spans)} spans, {len(calls)} calls"
    call_of = {span.span_id: call["id"] for span, call in zip(spans, calls, strict=True)}
    graph = DataflowGraph.from_spans(spans)
    return {
        (call_of[e.producer], call_of[e.consumer]) for e in graph.edges if e.producer in call_of
    }
