"""The ``spanflow`` command line: one module per subcommand, each with ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

# Each entry is a module under spanflow.cli exposing
# ``register(subparsers: argparse._SubParsersAction) -> None``; the parser it adds sets
# ``func(args) -> int`` as its default.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "collector",
    "fake_llm",
    "record",
    "replay",
    "runs",
    "spool",
    "ui",
    "version",
)


class CommandListFormatter(argparse.HelpFormatter):
    """Keeps each command's help on its own line beside names with an alias (``delete (rm)``).

    argparse measures subcommand names one indent short of where it prints them, so the
    longest ``name (alias)`` would push its help onto the next line.
    """

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if isinstance(action, argparse._SubParsersAction):
            printed_at = self._current_indent + self._indent_increment
            for command in action._get_subactions():
                width = printed_at + len(self._format_action_invocation(command))
                self._action_max_length = max(self._action_max_length, width)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="spanflow",
        description="OpenTelemetry-native run tracking for LLM agents.",
        formatter_class=CommandListFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"spanflow.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spanflow`` script; returns the process exit code.

    Exit codes: 0 done, 1 the command failed at run time, 2 a usage error (argparse's own
    code). A reader that goes away early (``spanflow runs list | head``) ends the command
    quietly, and Ctrl-C exits 130 without a traceback.
    """
    try:
        code = _run(argv)
        sys.stdout.flush()  # a broken pipe surfaces here, while it can still be handled
    except BrokenPipeError:
        # https://docs.python.org/3/library/signal.html#note-on-sigpipe: point stdout at
        # devnull so the interpreter's final flush does not complain a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    return code


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    code: int = args.func(args)
    return code
