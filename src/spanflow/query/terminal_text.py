"""Recorded text made safe to print on a terminal: one sanitiser, one width measure.

Run names, tags, span names, params and LLM content come from whoever sends spans to an index,
so anything printed from them must not reach the terminal as control sequences: an ``ESC``
could clear the screen or set the window title, a newline could forge a line of a span tree,
a bidi override could make text read backwards. ``printable`` turns every such character into
a visible escape (``\\x1b``, ``\\n``, ``\\u202e``) instead; ``display_width`` measures the
result in terminal columns; ``fit`` does both and cuts to a column budget.

Everything is one pass over the characters (``str.translate`` and plain loops), so no input can
make it slow or keep it from finishing.
"""

from __future__ import annotations

import unicodedata

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_BIDI_CONTROLS = (
    *range(0x202A, 0x202F),  # LRE, RLE, PDF, LRO, RLO
    *range(0x2066, 0x206A),  # LRI, RLI, FSI, PDI
    0x200E,  # left-to-right mark
    0x200F,  # right-to-left mark
    0x061C,  # Arabic letter mark
)
_LINE_SEPARATORS = (0x2028, 0x2029)
# Invisible format characters that can hide or smuggle text: "admin\u200b" prints like "admin",
# and tag characters carry whole ASCII messages no one sees. The zero-width joiner (U+200D) is
# kept: emoji sequences need it and it hides nothing on its own.
_INVISIBLE_FORMATS = (
    0x00AD,  # soft hyphen
    0x180E,  # Mongolian vowel separator
    0x200B,  # zero-width space
    0x200C,  # zero-width non-joiner
    *range(0x2060, 0x2065),  # word joiner, invisible operators
    *range(0x206A, 0x2070),  # deprecated format controls
    0xFEFF,  # zero-width no-break space (byte order mark)
    *range(0xFFF9, 0xFFFC),  # interlinear annotation controls
    *range(0x1D173, 0x1D17B),  # musical formatting controls
    0xE0001,  # language tag
    *range(0xE0020, 0xE0080),  # tag characters
)
_SURROGATES = range(0xD800, 0xE000)  # only lone ones survive in a str; no encoder takes them


def _escape(code_point: int) -> str:
    char = chr(code_point)
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if code_point < 0x100:
        return f"\\x{code_point:02x}"
    return f"\\u{code_point:04x}" if code_point < 0x10000 else f"\\U{code_point:08x}"


_UNSAFE_CODE_POINTS = (
    *range(0x00, 0x20),  # C0 controls, ESC among them
    0x7F,  # DEL
    *range(0x80, 0xA0),  # C1 controls (0x9B is a one-byte CSI on some terminals)
    *_BIDI_CONTROLS,
    *_LINE_SEPARATORS,
    *_INVISIBLE_FORMATS,
    *_SURROGATES,
)
_ESCAPE_TABLE = {code_point: _escape(code_point) for code_point in _UNSAFE_CODE_POINTS}
_ZERO_WIDTH_CATEGORIES = frozenset({"Mn", "Me", "Cf"})
ELLIPSIS = "…"


def printable(text: str) -> str:
    """``text`` with every control, bidi-override and separator character escaped visibly.

    The result holds no character a terminal interprets: no C0/C1 controls (``ESC``, newline,
    tab and carriage return included), no ``DEL``, no bidi overrides or isolates, no line or
    paragraph separators, no invisible format characters that could hide text (zero-width
    space, byte order mark, tag characters; the emoji joiner is kept) and no lone surrogates.
    Everything else is kept as it is.
    """
    if text.isascii() and text.isprintable():  # the common case, checked in C
        return text
    return text.translate(_ESCAPE_TABLE)


def char_width(char: str) -> int:
    """Terminal columns of one printable character: 2 for East Asian wide, 0 for combining."""
    if char < "\u0300":  # Latin and friends: the common case, decided without a lookup
        return 1
    if unicodedata.category(char) in _ZERO_WIDTH_CATEGORIES:
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Terminal columns ``printable(text)`` takes (``text`` is usually printable already)."""
    return sum(char_width(char) for char in printable(text))


def fit(text: str, width: int) -> str:
    """``printable(text)`` cut to at most ``width`` columns, ending with ``…`` when cut.

    Escapes are never split: a cut falls between whole characters of the original text. Work
    stops once the budget is spent, so a megabyte of text costs no more than a short one.
    """
    pieces: list[str] = []
    used = 0
    for char in text:
        piece = _ESCAPE_TABLE.get(ord(char))
        piece_width = len(piece) if piece is not None else char_width(char)
        if used + piece_width > width:
            return _cut(pieces, used, width)
        pieces.append(piece if piece is not None else char)
        used += piece_width
    return "".join(pieces)


def _cut(pieces: list[str], used: int, width: int) -> str:
    """``pieces`` (``used`` columns) shortened until an ellipsis fits within ``width``."""
    while pieces and used + 1 > width:
        used -= sum(char_width(char) for char in pieces.pop())
    return "".join(pieces) + ELLIPSIS if width >= 1 else ""


# In JSON text these characters can only stand inside strings (json.dumps writes its own syntax
# in ASCII and escapes C0 itself), so a \uXXXX escape there is the same data, printed safely.
_JSON_ESCAPE_TABLE = {
    code_point: f"\\u{code_point:04x}" for code_point in _UNSAFE_CODE_POINTS if code_point >= 0x7F
}


def printable_json(document: str) -> str:
    """JSON text from ``json.dumps(..., ensure_ascii=False)`` with no character a terminal
    interprets: DEL, C1 controls (``\\x9b`` is a one-byte CSI), bidi overrides and line
    separators (and lone surrogates) become ``\\uXXXX`` escapes, so parsing it gives exactly
    the same strings."""
    if document.isascii() and "\x7f" not in document:
        return document
    return document.translate(_JSON_ESCAPE_TABLE)
