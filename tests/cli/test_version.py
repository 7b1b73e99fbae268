"""The ``spanflow`` command line entry point."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from spanflow.cli import main


def test_version_prints_the_installed_distribution_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`spanflow version` prints the version pip installed and exits 0."""
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == version("spanflow")


def test_no_subcommand_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A bare `spanflow` shows the usage instead of doing nothing silently."""
    assert main([]) == 2
    assert "usage: spanflow" in capsys.readouterr().out
