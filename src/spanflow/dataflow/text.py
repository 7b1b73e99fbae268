"""Fingerprints of text: normalized tokens, word k-gram hashes, and a cache keyed by content.

A chat loop re-sends its whole history on every call, so the same message text arrives again
and again. ``fingerprint`` hashes a text once and serves every later sighting from a bounded
LRU cache keyed by the text itself (Python caches a ``str``'s hash on the object, so a re-sent
message costs one dictionary lookup).
"""

from __future__ import annotations

import json
import re
import sys
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from typing import Any

KGRAM_TOKENS = 4
"""Words per k-gram: a shared run of this many normalized words is the unit of content match."""

SHORT_FIELD_TOKENS = 12
"""Output fields up to this many tokens also index their distinctive values (``42``, names)."""

FINGERPRINT_CACHE_ENTRIES = 4096

# Tokenizing is the hot path, so it avoids a regex: punctuation becomes a space (str.translate
# has an ASCII fast path), then words are split on whitespace and trimmed of the marks kept
# inside numbers and contractions ("1,284.50", "it's").
_INNER_MARKS = ".,'\u2019"
_PUNCTUATION = '!"#$%&()*+/:;<=>?@[\\]^`{|}~-\u2018\u201c\u201d\u2013\u2014\u2026\u00ab\u00bb\u00b7'
_TO_SPACES = str.maketrans(dict.fromkeys(_PUNCTUATION, " "))
_NOT_WORD = re.compile(r"[^\w.,'\u2019]+")
_UNUSUAL = re.compile(r"[^\w\s.,'\u2019" + re.escape(_PUNCTUATION) + "]")

STOPWORDS = frozenset(
    """a an the and or but if then else of to in on at by for with from into onto as is are was
    were be been being am do does did done have has had this that these those it its it's i you
    he she we they me him her us them my your our their his what which who whom whose when where
    why how not no yes ok okay so than too very can could will would shall should may might must
    there here all any some each every one two three also just only about above below over under
    up down out off again more most other such own same both few nor true false none null""".split()  # noqa: SIM905 (a word list reads better as text)
)


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """The normalized form of one text: tokens, k-gram hashes and a whole-text hash."""

    tokens: tuple[str, ...]
    kgrams: array[int]  # kgrams[i] hashes tokens[i : i + KGRAM_TOKENS] (8 bytes each)
    whole: int  # hash of the full token sequence: equal texts up to case/spacing/punctuation

    @property
    def token_set(self) -> frozenset[str]:
        """The distinct tokens (computed on first use, then kept)."""
        cached: frozenset[str] | None = self.__dict__.get("_token_set")
        if cached is None:
            cached = frozenset(self.tokens)
            object.__setattr__(self, "_token_set", cached)
        return cached

    @property
    def content_size(self) -> int:
        """How many tokens are not weak (stopwords, single characters), at least 1."""
        cached: int | None = self.__dict__.get("_content_size")
        if cached is None:
            cached = max(1, count_content_tokens(self.tokens))
            object.__setattr__(self, "_content_size", cached)
        return cached


def count_content_tokens(tokens: tuple[str, ...]) -> int:
    """How many of ``tokens`` are not weak."""
    return len(tokens) - sum(map(_WEAKNESS.__getitem__, tokens))


def is_weak_token(token: str) -> bool:
    """A token too common to identify a value on its own: stopwords, one character, one digit."""
    return _WEAKNESS[token]


class _Weakness(dict[str, bool]):
    """``is_weak_token`` memoized; lookups of known tokens stay in C."""

    def __missing__(self, token: str) -> bool:
        weak = len(token) < 2 or token in STOPWORDS
        if len(self) < 200_000:
            self[token] = weak
        return weak


_WEAKNESS = _Weakness()


class FingerprintCache:
    """A thread-safe LRU of ``Fingerprint`` by text."""

    def __init__(self, *, max_entries: int = FINGERPRINT_CACHE_ENTRIES) -> None:
        self._entries: OrderedDict[str, Fingerprint] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get(self, text: str) -> Fingerprint:
        """The fingerprint of ``text``, computed at most once while it stays cached."""
        with self._lock:
            found = self._entries.get(text)
            if found is not None:
                self._entries.move_to_end(text)
                return found
        made = compute_fingerprint(text)
        with self._lock:
            self._entries[text] = made
            if len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return made

    def clear(self) -> None:
        """Forget every cached fingerprint."""
        with self._lock:
            self._entries.clear()


def compute_fingerprint(text: str) -> Fingerprint:
    """Tokenize ``text`` (lowercased words and numbers) and hash its word k-grams."""
    # Interned tokens are shared between every fingerprint that holds them.
    words = text.lower().translate(_TO_SPACES).split()
    trimmed = filter(None, map(str.strip, words, repeat(_INNER_MARKS, len(words))))
    tokens = tuple(map(sys.intern, trimmed))
    if _UNUSUAL.search(text) is not None:
        tokens = tuple(t for word in tokens for t in _split_unusual(word))
    shifted = [tokens[i:] for i in range(KGRAM_TOKENS)]
    # zip stops at the shortest slice: len(tokens) - k + 1 k-grams, hashed without a Python loop
    kgrams = array("q", map(hash, zip(*shifted, strict=False)))
    return Fingerprint(tokens=tokens, kgrams=kgrams, whole=hash(tokens))


def _split_unusual(word: str) -> list[str]:
    """Split a word holding symbols the fast path left in (rare Unicode punctuation)."""
    parts = (part.strip(_INNER_MARKS) for part in _NOT_WORD.split(word))
    return [sys.intern(part) for part in parts if part]


def json_leaves(text: str, *, max_leaves: int = 64) -> Iterator[tuple[str, str]]:
    """``(path suffix, text)`` for every string/number leaf when ``text`` is a JSON object/array.

    Structured outputs (JSON mode, tool-call arguments) are consumed field by field: a step that
    takes ``city`` from ``{"city": "Paris", "days": 3}`` reads one leaf, not the whole text.
    """
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return
    try:
        value = json.loads(stripped)
    except ValueError:
        return
    emitted = 0
    stack: list[tuple[str, Any]] = [("", value)]
    while stack and emitted < max_leaves:
        path, item = stack.pop()
        if isinstance(item, dict):
            stack.extend((f"{path}.{key}", child) for key, child in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in reversed(list(enumerate(item))))
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, (str, int, float)):
            emitted += 1
            yield path, str(item)
