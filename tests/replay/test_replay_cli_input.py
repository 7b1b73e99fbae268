"""``spanflow replay`` argument parsing: edits from files, typed params, bad forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from spanflow.cli.replay import _edit, _param


def test_edit_reads_text_from_a_file(tmp_path: Path) -> None:
    """`--edit 2=@answer.txt` replaces call 2's output with the file's text."""
    answer = tmp_path / "answer.txt"
    answer.write_text("line one\nline two\n", encoding="utf-8")
    assert _edit(f"2=@{answer}") == ("2", "line one\nline two\n")
    assert _edit("5f0c1a2b3c4d5e6f=plain text") == ("5f0c1a2b3c4d5e6f", "plain text")


def test_param_values_keep_json_types() -> None:
    """`--param` reads numbers and booleans as such and anything else as a string."""
    assert _param("temperature=0.2") == ("temperature", 0.2)
    assert _param("stream=true") == ("stream", True)
    assert _param("model=gpt-4o") == ("model", "gpt-4o")


@pytest.mark.parametrize("text", ["no-equals", "=value"])
def test_bad_forms_are_rejected_with_the_expected_shape(text: str) -> None:
    """An edit or param without KEY= says which form is expected."""
    with pytest.raises(ValueError, match="expected CALL=TEXT"):
        _edit(text)
    with pytest.raises(ValueError, match="expected KEY=VALUE"):
        _param(text)
