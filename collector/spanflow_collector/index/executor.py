"""The connection seam the SQL stores share, and helpers for ``IN (...)`` lists."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
CHUNK = 500  # ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits


class Executor(Protocol):
    """The two calls the shared code makes on a connection inside a transaction."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; return its rows (empty for statements without rows)."""

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run one statement for each parameter row; return how many rows they changed (an
        insert whose conflict was ignored changes none)."""


def chunks(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``values`` in lists of at most ``size``."""
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def placeholders(count: int) -> str:
    """``?, ?, ?`` for an IN list."""
    return ", ".join("?" * count)
