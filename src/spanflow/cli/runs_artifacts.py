"""``spanflow runs artifacts`` and ``spanflow runs download``: list and save a run's artifacts.

Artifact bytes only ever go to a file (or to a pipe with ``-o -``), never to a terminal, and
the default file name is made safe from the artifact's name (``download_filename``), so a name
such as ``../../.bashrc`` is saved as ``bashrc`` in the current folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spanflow.cli.runs_render import render_table
from spanflow.client import Client
from spanflow.query.artifacts import download_filename, encode_artifact
from spanflow.query.terminal_text import fit, printable, printable_json

Command = Callable[[Client, argparse.Namespace], int]
Wrap = Callable[[Command], Callable[[argparse.Namespace], int]]
_NAME_WIDTH = 40
_PATH_WIDTH = 50


def register(
    commands: argparse._SubParsersAction[Any],
    source: argparse.ArgumentParser,
    as_json: argparse.ArgumentParser,
    *,
    wrap: Wrap,
) -> None:
    """Add ``runs artifacts`` and ``runs download``."""
    listing = commands.add_parser(
        "artifacts", parents=[source, as_json], help="a run's artifacts: sizes and hashes"
    )
    listing.add_argument("run_id")
    listing.set_defaults(func=wrap(_list))

    download = commands.add_parser(
        "download", parents=[source], help="save one artifact of a run to a file"
    )
    download.add_argument("run_id")
    download.add_argument("name", help="the artifact's name, as `runs artifacts` lists it")
    download.add_argument(
        "-o",
        "--output",
        help="file or folder to write (a trailing / names a folder, made when missing; "
        "default: a safe form of the name, here); "
        "'-' writes to standard output when it is not a terminal",
    )
    download.add_argument("-f", "--force", action="store_true", help="replace an existing file")
    download.set_defaults(func=wrap(_download))


def _list(client: Client, args: argparse.Namespace) -> int:
    artifacts = client.artifacts(args.run_id)
    if args.json:
        text = json.dumps([encode_artifact(a) for a in artifacts], indent=2, ensure_ascii=False)
        print(printable_json(text))
        return 0
    if not artifacts:
        print(f"run {printable(args.run_id)} has no artifacts")
        return 0
    rows = [
        [
            fit(artifact.name, _NAME_WIDTH),
            "-" if artifact.size is None else str(artifact.size),
            "stored" if artifact.stored else "reference",
            fit(artifact.media_type or "-", 30),
            fit(artifact.path or "-", _PATH_WIDTH),
        ]
        for artifact in artifacts
    ]
    print(render_table(["NAME", "BYTES", "CONTENT", "MEDIA TYPE", "PATH"], rows, right=[1]))
    return 0


def _download(client: Client, args: argparse.Namespace) -> int:
    if args.output == "-":
        if sys.stdout.isatty():
            _error("-o -: standard output is a terminal; pipe it or give a file name")
            return 2
        content = client.artifact_bytes(args.run_id, args.name)
        sys.stdout.flush()
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return 0
    target = Path(args.output) if args.output else Path(download_filename(args.name))
    names_a_folder = args.output is not None and args.output.endswith(("/", os.sep))
    if names_a_folder:  # `-o out/`: a folder, made when missing, never a file called "out"
        target.mkdir(parents=True, exist_ok=True)
    if target.is_dir():
        target = target / download_filename(args.name)
    if target.exists() and not args.force:
        _error(f"{target} exists; pass --force to replace it")
        return 1
    content = client.artifact_bytes(args.run_id, args.name)
    try:
        _write_whole(target, content)
    except OSError as exc:
        _error(f"cannot write {target}: {exc.strerror or exc}")
        return 1
    print(f"wrote {printable(str(target))} ({len(content)} bytes)")
    return 0


def _write_whole(target: Path, content: bytes) -> None:
    """Write to a temporary file beside ``target``, then rename: never a half-written file."""
    handle, temporary = tempfile.mkstemp(dir=target.parent or ".", prefix=".spanflow-download-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _error(message: str) -> None:
    print(f"spanflow runs: {printable(message)}", file=sys.stderr)
