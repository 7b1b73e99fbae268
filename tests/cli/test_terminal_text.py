"""The terminal sanitiser: what it escapes, how it measures and cuts, and that it always ends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spanflow.query.terminal_text import display_width, fit, printable
from tests.cli.hostile_text import fuzz_settings, hostile_text, unsafe_characters


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("x\x1b[2J", "x\\x1b[2J"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("a\nb\r\tc", "a\\nb\\r\\tc"),
        ("\x00\x7f\x9b", "\\x00\\x7f\\x9b"),
        ("abc\u202efed", "abc\\u202efed"),
        ("\u2066x\u2069", "\\u2066x\\u2069"),
        ("line\u2028next", "line\\u2028next"),
        ("\ud800", "\\ud800"),
        ("plain é 漢字 \\n", "plain é 漢字 \\n"),
        ("admin\u200b", "admin\\u200b"),
        ("\ufeffrun\u00ad1", "\\ufeffrun\\xad1"),
        ("ok\U000e0049\U000e0067", "ok\\U000e0049\\U000e0067"),
        ("family \U0001f468\u200d\U0001f467", "family \U0001f468\u200d\U0001f467"),
    ],
)
def test_control_characters_are_shown_as_escapes(text: str, shown: str) -> None:
    """Controls, C1, DEL, bidi overrides, separators, text-hiding format characters and lone
    surrogates print as escapes; an emoji joined with U+200D prints as it is."""
    assert printable(text) == shown


def test_width_counts_wide_characters_twice_and_combining_marks_not_at_all() -> None:
    """East Asian wide characters take two columns, combining marks none."""
    assert display_width("漢字") == 4
    assert display_width("e\u0301") == 1
    assert display_width("x\x1b") == 1 + len("\\x1b")


@pytest.mark.parametrize(
    ("text", "width", "cut"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("longer than ten", 10, "longer th…"),
        ("漢字漢字漢字", 5, "漢字…"),
        ("ab\x1b[2J", 5, "ab…"),  # the escape is never split
        ("anything", 0, ""),
    ],
)
def test_fit_cuts_by_columns_without_splitting_an_escape(text: str, width: int, cut: str) -> None:
    """``fit`` keeps whole characters and escapes within the budget, ending with an ellipsis."""
    assert fit(text, width) == cut


def test_an_unterminated_escape_in_a_long_string_is_handled_in_one_pass() -> None:
    """The input that hung `runs list` (ESC [ without a later m) is just text to escape."""
    text = "x\x1b[" * 50_000
    assert printable(text).count("\\x1b[") == 50_000
    assert fit(text, 36).endswith("…")


@fuzz_settings()
@given(hostile_text)
def test_printable_leaves_nothing_a_terminal_interprets(text: str) -> None:
    """Whatever the input, the output has no control characters and is stable."""
    shown = printable(text)
    assert unsafe_characters(shown) == []
    assert "\n" not in shown
    assert printable(shown) == shown


@fuzz_settings()
@given(hostile_text, st.integers(min_value=0, max_value=80))
def test_fit_stays_within_its_budget(text: str, width: int) -> None:
    """A fitted text is printable, no wider than asked, and a prefix of the whole when cut."""
    cut = fit(text, width)
    assert unsafe_characters(cut) == []
    assert display_width(cut) <= width
    if cut != printable(text):
        assert cut.endswith("…") or width == 0
        assert printable(text).startswith(cut.removesuffix("…"))
