"""Server-sent events: reading a recorded stream's events, and writing an edited one."""

from __future__ import annotations

import json
from typing import Any


def sse_events(body: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) of each server-sent event in ``body``."""
    events: list[tuple[str | None, str]] = []
    for block in body.decode("utf-8").replace("\r\n", "\n").split("\n\n"):
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            events.append((name, "\n".join(data)))
    return events


def sse(events: list[tuple[str | None, Any]]) -> bytes:
    """``events`` (event name, data as text or JSON-able) as a server-sent event stream."""
    out: list[str] = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data)
        out.append((f"event: {name}\n" if name else "") + f"data: {payload}\n\n")
    return "".join(out).encode()
