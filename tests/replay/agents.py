"""A small tool-using agent for replay tests: real ``openai``/``anthropic`` clients, fake server."""

from __future__ import annotations

import json
from typing import Any

import spanflow

MODEL = "fake-model"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def weather(city: str) -> str:
    """The tool the agent calls."""
    return f"sunny in {city}"


def openai_agent(base_url: str, question: str, *, name: str = "agent") -> list[str]:
    """Ask, run the tool call the model asks for, ask again twice; return every answer text."""
    from openai import OpenAI

    answers: list[str] = []
    client = OpenAI(base_url=base_url, api_key="sk-test-not-a-key", max_retries=0)
    with client, spanflow.run(name, params={"model": MODEL}) as run:
        model = str(run.params["model"])
        messages: list[Any] = [{"role": "user", "content": question}]
        first = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
        message = first.choices[0].message
        answers.append(message.content or "")
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls or ():
            city = json.loads(call.function.arguments)["city"]  # type: ignore[union-attr]
            messages.append({"role": "tool", "tool_call_id": call.id, "content": weather(city)})
        second = client.chat.completions.create(model=model, messages=messages)
        answers.append(second.choices[0].message.content or "")
        messages.append({"role": "assistant", "content": answers[-1]})
        messages.append({"role": "user", "content": "Summarise that."})
        third = client.chat.completions.create(model=model, messages=messages)
        answers.append(third.choices[0].message.content or "")
    return answers


ANTHROPIC_WEATHER_TOOL = {
    "name": "weather",
    "description": "Weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def anthropic_agent(base_url: str, question: str, *, name: str = "claude-agent") -> list[str]:
    """The same agent on Anthropic messages, with tool_use and tool_result blocks."""
    from anthropic import Anthropic

    answers: list[str] = []
    client = Anthropic(base_url=base_url, api_key="sk-ant-test-not-a-key", max_retries=0)
    with client, spanflow.run(name, params={"model": MODEL}) as run:
        model = str(run.params["model"])
        messages: list[Any] = [{"role": "user", "content": question}]
        first = client.messages.create(
            model=model, max_tokens=100, messages=messages, tools=[ANTHROPIC_WEATHER_TOOL]
        )
        answers.append("".join(b.text for b in first.content if b.type == "text"))
        messages.append({"role": "assistant", "content": [b.model_dump() for b in first.content]})
        results = [
            {"type": "tool_result", "tool_use_id": b.id, "content": weather(b.input["city"])}  # type: ignore[index]
            for b in first.content
            if b.type == "tool_use"
        ]
        messages.append({"role": "user", "content": results})
        with client.messages.stream(model=model, max_tokens=100, messages=messages) as stream:
            answers.append("".join(stream.text_stream))
        messages.append({"role": "assistant", "content": answers[-1]})
        messages.append({"role": "user", "content": "Summarise that."})
        third = client.messages.create(model=model, max_tokens=100, messages=messages)
        answers.append("".join(b.text for b in third.content if b.type == "text"))
    return answers
