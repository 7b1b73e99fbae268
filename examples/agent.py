"""A small tool-calling agent, evaluated on a few samples with one spanflow subrun per sample.

The agent is ordinary OpenAI-client code: a planner call, then a loop of chat calls in which the
model asks for tools (a calculator and a lookup, both ``@spanflow.step``) until it answers.
``evaluate()`` wraps the whole evaluation in a run and each sample in a subrun, logging params
and metrics.

Run it against the bundled fake model (no network, no key)::

    python examples/agent.py

or against any OpenAI-compatible endpoint by setting ``OPENAI_BASE_URL``/``OPENAI_API_KEY``
(``--model`` picks the model). The evaluation, its samples and every LLM call land in the local
run index (``./.spanflow/index.db``, or where ``SPANFLOW_ENDPOINT``/``SPANFLOW_DB`` say):
``spanflow runs list`` shows them.
"""

from __future__ import annotations

import argparse
import ast
import json
import operator
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openai import OpenAI

import spanflow
from spanflow.testing.fake_llm import FakeLLMServer, FakeRequest, Reply, ToolCall

PLANNER_PROMPT = "You are a planner. Write a short numbered plan for answering the question."
AGENT_PROMPT = (
    "You answer questions using tools. Use `lookup` for facts and `calculator` for arithmetic. "
    "Follow the plan. When done, answer with 'The answer is <number>.'"
)
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look up a fact in the knowledge base.",
            "parameters": {
                "type": "object",
                "properties": {"topic": {"type": "string"}},
                "required": ["topic"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "calculator",
            "description": "Evaluate an arithmetic expression.",
            "parameters": {
                "type": "object",
                "properties": {"expression": {"type": "string"}},
                "required": ["expression"],
            },
        },
    },
]

KNOWLEDGE = {
    "population of france": "France has a population of about 68 million people.",
    "height of the eiffel tower": "The Eiffel Tower is 330 metres tall.",
    "boiling point of water": "Water boils at 100 degrees Celsius at sea level.",
}


# --- Tools ------------------------------------------------------------------------------------
@spanflow.step
def lookup(topic: str) -> str:
    """Return the knowledge-base entry for ``topic``."""
    return KNOWLEDGE.get(topic.strip().lower(), f"No entry about {topic!r}.")


_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


@spanflow.step
def calculator(expression: str) -> float:
    """Evaluate ``+ - * /`` arithmetic on numbers (no names, no calls)."""

    def evaluate(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return float(_OPERATORS[type(node.op)](evaluate(node.left), evaluate(node.right)))
        raise ValueError(f"unsupported expression: {expression!r}")

    return round(evaluate(ast.parse(expression, mode="eval").body), 3)


TOOL_FUNCTIONS: dict[str, Callable[..., Any]] = {"lookup": lookup, "calculator": calculator}


# --- The agent --------------------------------------------------------------------------------
@dataclass
class AgentResult:
    """What one question produced."""

    answer: str
    llm_calls: int
    tool_calls: int


def run_agent(client: OpenAI, question: str, *, model: str, max_turns: int = 6) -> AgentResult:
    """Plan, then call tools until the model answers (or ``max_turns`` is reached)."""
    plan = client.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": PLANNER_PROMPT},
            {"role": "user", "content": question},
        ],
    )
    messages: list[Any] = [
        {"role": "system", "content": AGENT_PROMPT},
        {"role": "user", "content": f"{question}\n\nPlan:\n{plan.choices[0].message.content}"},
    ]
    llm_calls, tool_calls = 1, 0
    for _ in range(max_turns):
        completion = client.chat.completions.create(model=model, messages=messages, tools=TOOLS)
        llm_calls += 1
        message = completion.choices[0].message
        if not message.tool_calls:
            return AgentResult(message.content or "", llm_calls, tool_calls)
        messages.append(
            {
                "role": "assistant",
                "content": message.content,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {
                            "name": call.function.name,
                            "arguments": call.function.arguments,
                        },
                    }
                    for call in message.tool_calls
                ],
            }
        )
        for call in message.tool_calls:
            arguments = json.loads(call.function.arguments or "{}")
            result = TOOL_FUNCTIONS[call.function.name](**arguments)
            tool_calls += 1
            messages.append({"role": "tool", "tool_call_id": call.id, "content": str(result)})
    return AgentResult("no answer", llm_calls, tool_calls)


# --- Evaluation -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """One evaluation question, its expected number, and how a model would solve it."""

    id: str
    question: str
    expected: float
    topic: str | None  # what to look up first, if anything
    expression: str  # arithmetic to compute; ``{value}`` is the number the lookup found


SAMPLES = (
    Sample("france-x2", "What is twice the population of France, in millions?", 136,
           "population of France", "{value} * 2"),
    Sample("eiffel-feet", "How tall is the Eiffel Tower in feet?", 1082.73,
           "height of the Eiffel Tower", "{value} * 3.281"),
    Sample("product", "What is 17 times 23?", 391, None, "17 * 23"),
)  # fmt: skip


@dataclass(frozen=True)
class Evaluation:
    """The evaluation run's id, its subruns' ids (one per sample) and the accuracy it measured."""

    run_id: str
    sample_run_ids: tuple[str, ...]
    accuracy: float


def evaluate(client: OpenAI, *, model: str, name: str = "agent-eval") -> Evaluation:
    """Run every sample as a subrun of one evaluation run."""
    params = {"model": model, "samples": len(SAMPLES)}
    with spanflow.run(name, params=params, tags=["example"]) as evaluation_run:
        correct = 0
        sample_run_ids: list[str] = []
        for sample in SAMPLES:
            with spanflow.run(
                f"sample-{sample.id}", params={"question": sample.question}
            ) as sample_run:
                sample_run_ids.append(sample_run.id)
                result = run_agent(client, sample.question, model=model)
                is_correct = _number_in(result.answer) == sample.expected
                correct += is_correct
                spanflow.log_output("answer", result.answer)
                spanflow.log_metrics(
                    {
                        "correct": float(is_correct),
                        "llm_calls": result.llm_calls,
                        "tool_calls": result.tool_calls,
                    }
                )
        accuracy = correct / len(SAMPLES)
        spanflow.log_metric("accuracy", accuracy)
    return Evaluation(evaluation_run.id, tuple(sample_run_ids), accuracy)


def _number_in(text: str) -> float | None:
    found = re.findall(r"-?\d+(?:\.\d+)?", text.replace(",", ""))
    return float(found[-1]) if found else None


# --- A deterministic stand-in model for the samples -------------------------------------------
def fake_model(request: FakeRequest) -> Reply | str:
    """Answer like a competent model would on ``SAMPLES``: plan, look up, compute, answer."""
    first_user = next((m.text for m in request.messages if m.role == "user"), "")
    sample = next((s for s in SAMPLES if first_user.startswith(s.question)), None)
    if sample is None:
        return f"I can only answer the example questions, not {first_user!r}."
    if request.messages[0].text == PLANNER_PROMPT:
        steps = [f"Look up the {sample.topic}."] if sample.topic else []
        steps.append(f"Compute {sample.expression.format(value='the value')}.")
        return "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
    tool_results = [m.text for m in request.messages if m.role == "tool"]
    if sample.topic and not tool_results:
        return Reply(tool_calls=[ToolCall("lookup", {"topic": sample.topic})])
    if len(tool_results) == (1 if sample.topic else 0):
        value = _number_in(tool_results[-1]) if tool_results else None
        expression = sample.expression.format(value=f"{value:g}" if value is not None else "0")
        return Reply(tool_calls=[ToolCall("calculator", {"expression": expression})])
    return f"The answer is {tool_results[-1]}."


def main() -> None:
    """Evaluate the agent against ``OPENAI_BASE_URL``, or the bundled fake model if unset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gpt-4o-mini")
    args = parser.parse_args()
    spanflow.instrument("openai")  # record every OpenAI call, not only the runs and steps
    if os.environ.get("OPENAI_BASE_URL"):
        with OpenAI() as client:
            evaluation = evaluate(client, model=args.model)
    else:
        with (
            FakeLLMServer(fake_model) as llm,
            OpenAI(base_url=llm.openai_base_url, api_key="fake") as client,
        ):
            evaluation = evaluate(client, model=args.model)
    print(f"run {evaluation.run_id}: accuracy {evaluation.accuracy:.2f}")


if __name__ == "__main__":
    main()
