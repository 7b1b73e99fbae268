"""What an instrumented call tells the dataflow detector: the text it read and what it produced.

Instrumentation (LLM clients, ``@step``) builds these records; ``spanflow.dataflow`` matches a
consumer's ``CallInputs`` against the ``CallOutputs`` its run has seen so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TextField:
    """One piece of text at a path inside a call's input or output.

    ``path`` names where it sits, e.g. ``messages[2].content``, ``input[0].content[1].text``,
    ``choices[0].message.tool_calls[0].function.arguments`` or ``args.query`` for a step.
    """

    path: str
    text: str
    role: str | None = None


@dataclass(frozen=True)
class CallInputs:
    """What a consumer (an LLM call's request, a step's arguments) reads."""

    fields: tuple[TextField, ...]
    previous_response_id: str | None = None
    tool_call_ids: tuple[str, ...] = ()  # ids of tool calls whose results are fed in
    response_item_ids: tuple[str, ...] = ()  # ids of earlier response items re-sent as input


@dataclass(frozen=True)
class CallOutputs:
    """What a producer (an LLM call's response, a step's return value) produced."""

    fields: tuple[TextField, ...]
    response_id: str | None = None
    tool_call_ids: tuple[str, ...] = ()  # ids of tool calls this output emitted
    item_ids: tuple[str, ...] = field(default=())  # ids of response output items
