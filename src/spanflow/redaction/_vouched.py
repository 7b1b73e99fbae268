"""Long texts the SDK redacted in this process, so the embedded index need not scan them again.

The SDK redacts LLM message content before it goes on a span; with no collector configured, the
embedded exporter writes those spans into the index in the same process, and the store redacts
every span again (it cannot tell the SDK's spans from other instrumentations'). Scanning the
message JSON a second time is pure cost when the text is, object for object, what a redactor
with the same rules (or more) already produced. This registry remembers such texts by identity:
an entry holds its text, so the id cannot be reused while the entry lives, and a text built
anew from the same characters is not taken for it. A text that fell out of the registry (it is
bounded in characters) or was never in it is simply scanned: the registry can only skip work,
never add trust to a text nobody here redacted. Nothing is kept until an embedded index in the
process asks for it (``keep``): exported elsewhere, the texts would only be held for nothing.

A vouched text may also say how it was built: the SDK's message JSON is a JSON array joined from
one encoded piece per message, and the index stores each large element as its own blob. Handing
the pieces over (``pieces_of``) spares the index parsing the array again to find them.
"""

from __future__ import annotations

import threading

Rules = frozenset[tuple[str, int]]  # a redactor's extra patterns: (pattern, flags)

# Texts are taken out when the index writes them, so this holds about the exporter's queue; the
# bound caps what spans never exported (dropped, not sampled) can hold on to.
_MAX_CHARS_KEPT = 8_000_000
# Taken texts wait here only until the same write encodes them; the bound is for writes that
# failed in between.
_MAX_PIECES_KEPT = 4096


class VouchedTexts:
    """Texts a redactor produced, with the extra rules it applied, oldest forgotten first."""

    def __init__(self, max_chars: int = _MAX_CHARS_KEPT) -> None:
        self._max_chars = max_chars
        self._texts: dict[int, tuple[str, Rules, tuple[str, ...]]] = {}
        # Pieces of texts taken, until the index encodes them (in the same write).
        self._pieces: dict[int, tuple[str, tuple[str, ...]]] = {}
        self._chars = 0
        self._lock = threading.Lock()
        self._keeping = False
        self._pieces_min_chars = 0

    def keep(self, *, pieces_min_chars: int = 0) -> None:
        """Start remembering texts: a consumer that takes them lives in this process.

        Args:
            pieces_min_chars: The shortest text whose pieces the consumer asks for: shorter
                texts' pieces are not kept past ``take`` (nobody would ever collect them).
        """
        self._pieces_min_chars = pieces_min_chars
        self._keeping = True

    def add(self, text: str, rules: Rules, pieces: tuple[str, ...] = ()) -> None:
        """Remember that ``text`` is the output of the built-in rules plus ``rules``.

        ``pieces``, when given, are the encoded elements ``text`` is the JSON array of:
        ``text == "[" + ",".join(pieces) + "]"``.
        """
        if not self._keeping:
            return
        with self._lock:
            if id(text) in self._texts:
                return
            self._texts[id(text)] = (text, rules, pieces)
            self._chars += len(text)
            while self._chars > self._max_chars:
                oldest = self._texts.pop(next(iter(self._texts)))[0]
                self._chars -= len(oldest)

    def take(self, text: str, rules: Rules) -> bool:
        """Whether ``text`` was redacted with at least ``rules``; forgets it either way.

        Taken once: the embedded store is the one consumer, and a text written again (a retried
        export) is scanned like any other.
        """
        if id(text) not in self._texts:  # the common case, answered without the lock
            return False
        with self._lock:
            entry = self._texts.get(id(text))
            if entry is None or entry[0] is not text:
                return False
            del self._texts[id(text)]
            self._chars -= len(text)
            if entry[2] and len(text) >= self._pieces_min_chars:
                # Valid for this very object whatever the scan decides: a text it changed is a
                # new object, which ``pieces_of`` does not know.
                if len(self._pieces) >= _MAX_PIECES_KEPT:
                    self._pieces.clear()
                self._pieces[id(text)] = (text, entry[2])
        return rules <= entry[1]

    def pieces_of(self, text: str) -> tuple[str, ...] | None:
        """The JSON array elements ``text`` was joined from, once it was taken; forgets them."""
        if id(text) not in self._pieces:  # the common case, answered without the lock
            return None
        with self._lock:
            entry = self._pieces.get(id(text))
            if entry is None or entry[0] is not text:
                return None
            del self._pieces[id(text)]
        return entry[1]


VOUCHED = VouchedTexts()
