"""``spanflow runs export`` and ``spanflow runs import``: runs moved as bundle files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spanflow._client.source import resolve_source
from spanflow.client import Client
from spanflow.query.terminal_text import printable
from spanflow_collector.index import open_store

Command = Callable[[Client, argparse.Namespace], int]
Wrap = Callable[[Command], Callable[[argparse.Namespace], int]]


def register(
    commands: argparse._SubParsersAction[Any],
    source: argparse.ArgumentParser,
    *,
    wrap: Wrap,
    time_bound: Callable[[str | None], str | None],
) -> None:
    """Add ``runs export`` and ``runs import``."""
    export = commands.add_parser(
        "export",
        parents=[source],
        help="write runs with subruns, spans and metrics to a bundle file",
    )
    export.add_argument("run_ids", nargs="*", metavar="RUN_ID")
    export.add_argument("-p", "--project", help="also every top-level run of this project")
    export.add_argument("--since", help="with --project or alone: runs started after (2h, 3d, ISO)")
    export.add_argument(
        "-o", "--output", required=True, help="the bundle file (.gz: gzip-compressed)"
    )
    export.set_defaults(func=wrap(lambda client, args: _export(client, args, time_bound)))

    import_ = commands.add_parser(
        "import", parents=[source], help="store the runs of a bundle file (idempotent)"
    )
    import_.add_argument("bundle", metavar="FILE")
    import_into = wrap(_import)

    def import_command(args: argparse.Namespace) -> int:
        _create_missing_index(args.url or args.db or None)
        return import_into(args)

    import_.set_defaults(func=import_command)


def _create_missing_index(location: str | None) -> None:
    """Importing is a write: a SQLite index that does not exist yet is created for it."""
    source = resolve_source(location)
    if source.is_http or "://" in source.location or Path(source.location).exists():
        return
    try:
        open_store(source.location).close()
    except Exception:
        return  # the client reports the location's problem in its own words


def progress_bar(label: str) -> Callable[[int, int], None] | None:
    """A one-line progress bar on a terminal's stderr; nothing when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        filled = 30 * done // max(total, 1)
        end = "\n" if done >= total else ""
        bar = "#" * filled + "." * (30 - filled)
        print(f"\r{label} [{bar}] {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show


def _export(
    client: Client, args: argparse.Namespace, time_bound: Callable[[str | None], str | None]
) -> int:
    result = client.export(
        args.output,
        *args.run_ids,
        project=args.project,
        since=time_bound(args.since),
        progress=progress_bar("exporting"),
    )
    count = len(result.run_ids)
    print(f"exported {count} run{'s' if count != 1 else ''} to {printable(result.path)}")
    return 0


def _import(client: Client, args: argparse.Namespace) -> int:
    result = client.import_(args.bundle, progress=progress_bar("importing"))
    count = len(result.run_ids)
    print(f"imported {count} run{'s' if count != 1 else ''} from {printable(result.path)}")
    return 0
