"""``spanflow version``: print the installed version."""

from __future__ import annotations

import argparse
from importlib.metadata import version
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``version`` subcommand."""
    parser = subparsers.add_parser("version", help="print the spanflow version")
    parser.set_defaults(func=_print_version)


def _print_version(args: argparse.Namespace) -> int:
    print(version("spanflow"))
    return 0
