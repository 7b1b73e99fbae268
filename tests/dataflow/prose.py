"""Deterministic filler prose for scenarios: varied sentences that share everyday phrases.

Different seeds give texts that share common function-word phrases ("it is important to", "one
of the most") the way real model outputs do, so the corpus tests that such phrases make no edge.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

_OPENERS = [
    "It is important to note that",
    "One of the most useful facts is that",
    "In practice,",
    "As a result,",
    "On the other hand,",
    "For most teams,",
    "In the long run,",
    "According to the latest report,",
    "At the same time,",
    "In other words,",
]
_SUBJECTS = [
    "the {a} {n}",
    "every {a} {n}",
    "a {a} {n} near the {n2}",
    "the {n} of the {n2}",
    "our {a} {n}",
]
_VERBS = [
    "depends on",
    "improves",
    "slows down",
    "replaces",
    "measures",
    "protects",
    "feeds into",
    "competes with",
    "borrows from",
    "reshapes",
]
_ADJECTIVES = """amber brisk coastal dense eager frozen granite hollow ivory jagged kinetic
lunar mossy narrow opaque polar quiet rustic silent tidal urban velvet woven young zonal
crimson dusty elastic fragile gilded humid""".split()  # noqa: SIM905
_NOUNS = """harbor lattice meadow engine ledger orchard beacon canyon turbine archive glacier
compass vineyard pipeline monsoon quarry reservoir satellite tannery workshop bridge cellar
delta estuary foundry garrison hangar island junction kiln""".split()  # noqa: SIM905


_salt = ""


@contextmanager
def salted(salt: str) -> Iterator[None]:
    """Every ``prose`` text inside the block is a different text (held-out variants)."""
    global _salt
    previous, _salt = _salt, salt
    try:
        yield
    finally:
        _salt = previous


def prose(seed: int | str, sentences: int = 6) -> str:
    """``sentences`` pseudo-sentences, the same for the same seed (and salt)."""
    rng = random.Random(f"{_salt}{seed}")
    parts = []
    for _ in range(sentences):
        subject = rng.choice(_SUBJECTS).format(
            a=rng.choice(_ADJECTIVES), n=rng.choice(_NOUNS), n2=rng.choice(_NOUNS)
        )
        obj = rng.choice(_SUBJECTS).format(
            a=rng.choice(_ADJECTIVES), n=rng.choice(_NOUNS), n2=rng.choice(_NOUNS)
        )
        parts.append(f"{rng.choice(_OPENERS)} {subject} {rng.choice(_VERBS)} {obj}.")
    return " ".join(parts)


def words(text: str, start: int, count: int) -> str:
    """``count`` words of ``text`` from word ``start`` (a quote of part of a text)."""
    return " ".join(text.split()[start : start + count])
