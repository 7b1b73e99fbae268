"""The ``spanflow`` command line: one module per subcommand, each with ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each entry is a module under spanflow.cli exposing
# ``register(subparsers: argparse._SubParsersAction) -> None``; the parser it adds sets
# ``func(args) -> int`` as its default.
SUBCOMMAND_MODULES: tuple[str, ...] = ("collector", "fake_llm", "record", "runs", "ui", "version")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="spanflow", description="OpenTelemetry-native run tracking for LLM agents."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"spanflow.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spanflow`` script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
