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
