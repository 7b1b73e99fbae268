"""Free run attributes as filterable ``run_values`` rows (kind ``attr``), and their backfill.

Params and metrics have always had ``run_values`` rows; attributes got them with schema
version 3, whose migration fills them in for the runs already stored.
"""

from __future__ import annotations

import json
from typing import Any

from spanflow_collector.index.content import plain_attributes
from spanflow_collector.index.executor import Executor, chunks

ATTRIBUTE_KIND = "attr"


def comparable(value: Any) -> tuple[float | None, str | None]:
    """``run_values`` (num, text) for a value, matching how filters compare."""
    if isinstance(value, bool):
        return None, json.dumps(value)
    if isinstance(value, int | float):
        return float(value), None
    if isinstance(value, str):
        return None, value
    return None, json.dumps(list(value))


def backfill_attribute_values(executor: Executor) -> None:
    """Add the ``attr`` rows of every run already in the index (migration 3)."""
    rows = executor.execute("SELECT id, attributes FROM runs")
    values = [
        (run_id, ATTRIBUTE_KIND, key, *comparable(value))
        for run_id, text in rows
        for key, value in plain_attributes(text).items()
    ]
    for batch in chunks(values):
        executor.executemany(
            "INSERT INTO run_values (run_id, kind, key, num, text) VALUES (?, ?, ?, ?, ?)", batch
        )
