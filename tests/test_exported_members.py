"""The public API of ``spanflow`` is exactly what ``__all__`` promises."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import spanflow

# Add a name here when adding it to spanflow.__all__ (kept sorted there).
EXPECTED_PUBLIC_NAMES = {
    "Client",
    "ConfigurationError",
    "RunExistsError",
    "RunHandle",
    "RunStatus",
    "SpanflowDeprecationWarning",
    "SpanflowWarning",
    "configure",
    "current_run",
    "force_flush",
    "graph",
    "instrument",
    "launch",
    "link",  # deprecated name of link_dataflow
    "link_dataflow",
    "log_artifact",
    "log_input",
    "log_inputs",
    "log_metric",
    "log_metrics",
    "log_output",
    "log_outputs",
    "log_param",
    "log_params",
    "replay",
    "run",
    "shutdown",
    "start_run",
    "step",
    "tag",
    "uninstrument",
}


def test_all_lists_the_expected_public_names() -> None:
    """Nothing is added to or dropped from the public API by accident."""
    assert set(spanflow.__all__) == EXPECTED_PUBLIC_NAMES


def test_all_is_sorted_and_every_name_exists() -> None:
    """``__all__`` stays sorted and each name resolves on the package."""
    assert spanflow.__all__ == sorted(spanflow.__all__)
    for name in spanflow.__all__:
        assert hasattr(spanflow, name), name


def test_lazy_names_match_the_type_checking_imports() -> None:
    """The names loaded on first use are the ones type checkers see, each from the same home."""
    tree = ast.parse(Path(spanflow.__file__).read_text(encoding="utf-8"))
    type_checking_homes: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom)
                for alias in statement.names:
                    type_checking_homes[alias.name] = str(statement.module)
    assert type_checking_homes == spanflow._PUBLIC_HOMES
    assert set(type_checking_homes) == EXPECTED_PUBLIC_NAMES


def test_dir_lists_public_names_before_they_are_loaded() -> None:
    """``dir(spanflow)`` offers every public name, so completion works on the lazy package."""
    assert set(dir(spanflow)) >= EXPECTED_PUBLIC_NAMES


def test_unknown_attribute_raises_attribute_error() -> None:
    """A misspelt name fails like on any module, naming the attribute."""
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = spanflow.no_such_name  # type: ignore[attr-defined]
