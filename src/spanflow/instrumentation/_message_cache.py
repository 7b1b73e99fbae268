"""Per-process memory of the messages a chat loop re-sends, so each is described and encoded once.

An agent re-sends its whole history on every call: without memory, every call would walk every
earlier message again into the neutral description, its GenAI JSON and its dataflow fields.
Three bounded maps serve a re-sent message from what its first sighting produced:

* ``described``: a flat request message (a mapping whose values are all strings, the common
  ``{"role": ..., "content": "..."}``) at a given position → its ``Message``;
* ``encoded``: a ``Message`` (by value) and the active redactor → its redacted JSON;
* ``fields``: a ``Message`` (by value) → its dataflow ``TextField``s.

Keys are values, never object identities, so a message edited in place is described afresh.
Entries are dropped oldest first once a map is full; a message whose parts hold unhashable
values (tool arguments as objects) is simply not remembered. Dictionary operations are atomic
under the GIL, so concurrent callers need no lock: at worst two threads both compute an entry.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Generic, TypeVar

ValueT = TypeVar("ValueT")

MAX_ENTRIES = 4096
"""Entries per map: a few hundred conversations' worth of distinct messages."""
MAX_TEXT_CHARS = 65_536
"""Messages with a longer text are not remembered (their memory would outweigh the gain)."""


class BoundedMemo(Generic[ValueT]):
    """A map from hashable keys to computed values, dropping its oldest entries when full."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: dict[Hashable, ValueT] = {}
        self._max_entries = max_entries

    def get(self, key: Hashable, compute: Callable[[], ValueT]) -> ValueT:
        """The value remembered for ``key``, else ``compute()`` remembered."""
        try:
            return self._entries[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable part somewhere in the key: not remembered
            return compute()
        value = compute()
        entries = self._entries
        if len(entries) >= self._max_entries:
            # Another thread may have evicted or changed the map meanwhile: nothing to do then.
            with contextlib.suppress(KeyError, RuntimeError, StopIteration):
                del entries[next(iter(entries))]
        entries[key] = value
        return value

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def flat_message_key(item: Any, position: int) -> tuple[Any, ...] | None:
    """A key for a request message made only of strings, or None when it holds anything else.

    Such a message's description is a function of its items and its position alone (the
    position is in the dataflow paths), so equal keys describe equally.
    """
    if type(item) is not dict:
        return None
    for value in item.values():
        if type(value) is not str or len(value) > MAX_TEXT_CHARS:
            return None
    return (position, *item.items())


def describe_flat(
    memo: BoundedMemo[ValueT],
    item: Mapping[str, Any],
    position: int,
    describe: Callable[[Any, int], ValueT],
) -> ValueT:
    """``describe(item, position)``, remembered when ``item`` is a flat message."""
    key = flat_message_key(item, position)
    if key is None:
        return describe(item, position)
    return memo.get(key, lambda: describe(item, position))
