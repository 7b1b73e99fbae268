"""``spanflow version``: print the installed version."""

from __future__ import annotations

import argparse
from typing import Any

from spanflow._version import __version__


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``version`` subcommand."""
    parser = subparsers.add_parser("version", help="print the spanflow version")
    parser.set_defaults(func=_print_version)


def _print_version(args: argparse.Namespace) -> int:
    print(__version__)
    return 0
