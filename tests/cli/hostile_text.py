"""Hostile strings for the CLI fuzz tests, and checks that rendered text is safe to print."""

from __future__ import annotations

import os
import re
import unicodedata

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from spanflow import environment as env

# Pieces that have broken terminal renderers before: an unterminated CSI (the old width loop
# never advanced past it), complete CSI/OSC sequences, C1 CSI, lines drawn like the tree's,
# bidi overrides, Mermaid/DOT syntax and entity codes, wide and combining characters.
TRICKY_PIECES = (
    "\x1b[",
    "\x1b[2J",
    "\x1b[31m",
    "\x1b]0;title\x07",
    "\x1b]8;;http://x\x1b\\",
    "\x9b2J",
    "\x7f",
    "\n└─ forged",
    "\n├─ ",
    "\r",
    "\t",
    "\u202e",
    "\u2066",
    "\u2028",
    "\ud800",
    '"',
    "\\",
    "\\n",
    '"]',
    '"] --> n0["',
    "|",
    "`",
    "<br/>",
    "<b>",
    "#quot;",
    "#35;",
    "[",
    "]",
    "{",
    ";",
    "->",
    "漢字",
    "e\u0301",
    "\u200d",
    "\u200b",
    "\ufeff",
    "\U000e0041",
    "\x00",
)

# Every code point, surrogates included (a Python str can hold a lone one).
any_character = st.characters(exclude_categories=())
hostile_text = st.lists(
    st.one_of(st.text(any_character, max_size=12), st.sampled_from(TRICKY_PIECES)),
    max_size=8,
).map("".join)


def fuzz_settings() -> settings:
    """A fixed, derandomized budget; ``SPANFLOW_FUZZ_EXAMPLES`` raises it for a longer run."""
    return settings(
        max_examples=int(os.environ.get(env.SPANFLOW_FUZZ_EXAMPLES, "40")),
        derandomize=True,
        database=None,
        deadline=None,  # timing is not asserted; pytest-timeout catches a renderer that hangs
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


_OWN_COLOURS = re.compile(r"\x1b\[[0-9]+m")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# Format characters that print as nothing and so can hide text (the emoji joiner is allowed).
_HIDING = frozenset("\u00ad\u200b\u200c\u2060\ufeff") | {chr(c) for c in range(0xE0020, 0xE0080)}


def unsafe_characters(text: str, *, colour: bool = False) -> list[str]:
    """Characters in rendered ``text`` a terminal would interpret (newlines are the layout's).

    With ``colour``, spanflow's own SGR colour codes are allowed and removed first.
    """
    if colour:
        text = _OWN_COLOURS.sub("", text)
    return [
        char
        for char in text
        if char != "\n"
        and (
            unicodedata.category(char) in ("Cc", "Cs")
            or char in _BIDI
            or char in ("\u2028", "\u2029")
            or char in _HIDING
        )
    ]
