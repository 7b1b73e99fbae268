"""Per-process memory of the messages a chat loop re-sends, so each is described and encoded once.

An agent re-sends its whole history on every call: without memory, every call would walk every
earlier message again into the neutral description, its GenAI JSON and its dataflow fields.
Three bounded maps serve a re-sent message from what its first sighting produced:

* an adapter's memo: a flat request message (a mapping whose values are all strings, the
  common ``{"role": ..., "content": "..."}``) at a given position → its ``Message``;
* ``MessageMemory``: a ``Message`` → what rendering it produced (its redacted GenAI JSON, its
  dataflow fields), found by identity first (the adapter's memo hands out the same object for
  a re-sent message) and by value otherwise.

Request items are keyed by value, never by identity, so a message edited in place is described
afresh. Entries are dropped oldest first once a map is full; a message holding anything but
text (tool arguments as objects, numbers) is not remembered. Dictionary operations are atomic
under the GIL, so concurrent callers need no lock: at worst two threads both compute an entry.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from spanflow.instrumentation._description import Message

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

    def remembered(self, key: Hashable) -> ValueT | None:
        """The value remembered for ``key`` (which must be hashable), else None: a lookup
        without building a ``compute`` for the hit."""
        return self._entries.get(key)

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
    if len(item) == 2:  # the common {"role": ..., "content": "..."} without a loop
        role, text = item.get("role"), item.get("content")
        if type(role) is str and type(text) is str and len(text) <= MAX_TEXT_CHARS:
            return (position, role, text)
    for value in item.values():
        if type(value) is not str or len(value) > MAX_TEXT_CHARS:
            return None
    return (position, *item.items())


def describe_messages(
    memo: BoundedMemo[ValueT], items: Any, describe: Callable[[Any, int], ValueT]
) -> tuple[ValueT, ...]:
    """``describe(item, position)`` of each item of a list (none for anything else), each
    flat message's description remembered."""
    if not isinstance(items, list):
        return ()
    described: list[ValueT] = []
    for position, item in enumerate(items):
        key = flat_message_key(item, position)
        if key is None:
            described.append(describe(item, position))
            continue
        found = memo.remembered(key)  # a flat key holds strings only: always hashable
        if found is None:
            found = memo.get(key, lambda: describe(item, position))  # noqa: B023 (called now)
        described.append(found)
    return tuple(described)


class Remembered:
    """What rendering one message produced; filled in by whoever needs a piece first."""

    __slots__ = ("encoded", "inputs", "message")

    def __init__(self, message: Message) -> None:
        self.message = message
        self.encoded: tuple[object, str] | None = None  # (the redactor it used, the JSON)
        self.inputs: Any = None  # the dataflow fields and answered tool call ids


class MessageMemory:
    """``Remembered`` records of messages, by identity first and by value otherwise."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._by_value: BoundedMemo[Remembered] = BoundedMemo(max_entries)
        self._by_identity: BoundedMemo[Remembered] = BoundedMemo(max_entries)

    def entry(self, message: Message) -> Remembered | None:
        """The record of ``message``; None for a message that is not remembered."""
        found = self._by_identity._entries.get(id(message))
        # The record holds its message, so an id seen here cannot belong to another object.
        if found is not None and found.message is message:
            return found
        if not rememberable(message):
            return None
        found = self._by_value.get(message, lambda: Remembered(message))
        if found.message is message:
            self._by_identity.get(id(message), lambda: found)
        return found


_TEXTUAL = (str, type(None))


def rememberable(message: Message) -> bool:
    """Whether equal messages are alike in every respect, so one may stand for another.

    Only text and absent values qualify: ``1 == True == 1.0`` but they encode differently.
    """
    if not isinstance(message.role, _TEXTUAL) or len(message.parts) > 64:
        return False
    for part in message.parts:
        if not (
            isinstance(part.content, _TEXTUAL)
            and isinstance(part.call_id, _TEXTUAL)
            and isinstance(part.name, _TEXTUAL)
        ):
            return False
        if part.content is not None and len(part.content) > MAX_TEXT_CHARS:
            return False
    return True
