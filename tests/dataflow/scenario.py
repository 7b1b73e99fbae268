"""Labelled dataflow scenarios as data, and a builder to write them compactly.

A scenario is a list of calls in execution order plus the true edge set. Each call is plain data
that can be replayed two ways:

* directly through ``on_call_start``/``on_call_end`` (``direct.py``), turning the call into
  ``CallInputs``/``CallOutputs`` the way instrumentation describes a request and its response;
* through the real ``openai``/``anthropic`` clients against the fake LLM server, where ``reply``
  is the scripted reply and ``messages``/``input`` the request the agent sends.

LLM call::

    {"id": "c1", "kind": "llm", "api": "chat" | "responses" | "anthropic", "run": "main",
     "messages": [{"role": "user", "content": "..."},
                  {"role": "assistant", "content": "...", "tool_calls": [tool call, ...]},
                  {"role": "tool", "tool_call_id": "t1", "content": "..."},
                  {"type": "item_ref", "id": "msg_..."}],          # responses: re-sent item
     "previous": "c0" | None,                                       # previous_response_id
     "reply": {"text": "...", "tool_calls": [{"id", "name", "arguments"}], "stream": bool}}

Step (a traced function or tool)::

    {"id": "s1", "kind": "step", "name": "search", "run": "main",
     "args": {"query": "..."}, "returns": "..." | JSON value}

``runs`` maps each run key to its parent (``None`` for the top-level run).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    """A call being built; ``message``/``items`` re-send its reply in later requests."""

    data: dict[str, Any]

    @property
    def id(self) -> str:
        """The call's id in the scenario."""
        return str(self.data["id"])

    @property
    def response_id(self) -> str:
        """The provider response id the fake reply carries."""
        return f"resp_{self.id}"

    @property
    def message(self) -> dict[str, Any]:
        """The assistant message an agent appends to its history after this call."""
        reply = self.data["reply"]
        found: dict[str, Any] = {"role": "assistant", "content": reply.get("text") or None}
        if reply.get("tool_calls"):
            found["tool_calls"] = reply["tool_calls"]
        return found

    @property
    def items(self) -> list[dict[str, Any]]:
        """Responses API: references to this call's output items, re-sent as input."""
        refs = []
        if self.data["reply"].get("text"):
            refs.append({"type": "item_ref", "id": f"msg_{self.id}"})
        refs.extend({"type": "item_ref", "id": f"fc_{tc['id']}"} for tc in self.tool_calls)
        return refs

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The tool calls this call's reply emits."""
        return list(self.data["reply"].get("tool_calls") or [])

    @property
    def returns(self) -> Any:
        """A step's return value."""
        return self.data["returns"]


def system(text: str) -> dict[str, Any]:
    """A system message."""
    return {"role": "system", "content": text}


def user(text: str) -> dict[str, Any]:
    """A user message."""
    return {"role": "user", "content": text}


def tool_result(call_id: str, content: str) -> dict[str, Any]:
    """A tool result answering tool call ``call_id``."""
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def tool_call(call_id: str, name: str, **arguments: Any) -> dict[str, Any]:
    """A tool call as a reply emits it (arguments JSON-encoded, as providers send them)."""
    return {"id": call_id, "name": name, "arguments": json.dumps(arguments)}


@dataclass
class Scenario:
    """One labelled scenario: calls in order and the true ``(producer, consumer)`` edges."""

    name: str
    category: str
    description: str
    runs: dict[str, str | None] = field(default_factory=lambda: {"main": None})
    calls: list[dict[str, Any]] = field(default_factory=list)
    edges: set[tuple[str, str]] = field(default_factory=set)

    def llm(
        self,
        call_id: str,
        messages: list[dict[str, Any]],
        text: str | None = None,
        *,
        tool_calls: list[dict[str, Any]] | None = None,
        api: str = "chat",
        run: str = "main",
        previous: Call | None = None,
        stream: bool = False,
        feeds_from: tuple[Call, ...] = (),
    ) -> Call:
        """Add an LLM call; ``feeds_from`` are its true producers."""
        reply: dict[str, Any] = {"text": text, "tool_calls": tool_calls or [], "stream": stream}
        data = {
            "id": call_id,
            "kind": "llm",
            "api": api,
            "run": run,
            "messages": [dict(m) for m in messages],
            "previous": previous.id if previous else None,
            "reply": reply,
        }
        return self._add(data, feeds_from)

    def step(
        self,
        call_id: str,
        name: str,
        args: dict[str, Any],
        returns: Any,
        *,
        run: str = "main",
        feeds_from: tuple[Call, ...] = (),
    ) -> Call:
        """Add a traced step (tool, function); ``feeds_from`` are its true producers."""
        data = {
            "id": call_id,
            "kind": "step",
            "name": name,
            "run": run,
            "args": args,
            "returns": returns,
        }
        return self._add(data, feeds_from)

    def subrun(self, key: str, parent: str = "main") -> str:
        """Declare a subrun of ``parent``."""
        self.runs[key] = parent
        return key

    def _add(self, data: dict[str, Any], feeds_from: tuple[Call, ...]) -> Call:
        self.calls.append(data)
        self.edges.update((producer.id, data["id"]) for producer in feeds_from)
        return Call(data)

    def to_data(self) -> dict[str, Any]:
        """The scenario as JSON-ready data."""
        return {
            "name": self.name,
            "category": self.category,
            "description": self.description,
            "runs": self.runs,
            "calls": self.calls,
            "edges": sorted(self.edges),
        }
