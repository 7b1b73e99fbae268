"""Request reading shared by the adapters: numeric parameters and tool definitions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spanflow.instrumentation._facts import Attributes


def request_parameters(body: Mapping[str, Any], keys: Mapping[str, str]) -> Attributes:
    """The numeric request parameters of ``body`` under their GenAI attribute keys."""
    found: Attributes = {}
    for name, key in keys.items():
        value = body.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            found[key] = value
    return found


def tool_definitions(tools: Any) -> list[Any] | None:
    """The request's tool definitions in the conventions' flat shape; None without tools."""
    if isinstance(tools, list) and tools:
        return [_flat_tool(tool) for tool in tools]
    return None


def _flat_tool(tool: Any) -> Any:
    # Chat completions nest the function ({"type": "function", "function": {...}}); the
    # conventions' definition is flat, as the Responses API already sends it.
    function = tool.get("function") if isinstance(tool, Mapping) else None
    if isinstance(function, Mapping):
        return {"type": tool.get("type", "function"), **function}
    return tool
