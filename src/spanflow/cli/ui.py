"""``spanflow ui``: browse runs and their dataflow graphs in a web browser.

The token comes from ``--token-file`` or the environment (``$SPANFLOW_COLLECTOR_READ_TOKEN``,
else ``$SPANFLOW_COLLECTOR_TOKEN``), never from the command line, where ``ps`` would show it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from spanflow.environment import (
    SPANFLOW_COLLECTOR_READ_TOKEN,
    SPANFLOW_COLLECTOR_TOKEN,
    SPANFLOW_DB,
    Default,
)

DEFAULT_PORT = 4320


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``ui`` subcommand."""
    parser = subparsers.add_parser(
        "ui",
        help="browse runs, dataflow graphs and traces in a web browser",
        description="Serve the web UI over a local run index (--db) or a collector (--url).",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--db",
        default=None,
        help=f"SQLite path or postgresql:// URL (${SPANFLOW_DB}, else {Default.SPANFLOW_DB})",
    )
    source.add_argument(
        "--url", default=None, help="a collector's HTTP URL whose query API to show"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    parser.add_argument(
        "--token-file",
        default=None,
        help=f"file holding the token (else ${SPANFLOW_COLLECTOR_READ_TOKEN}, then "
        f"${SPANFLOW_COLLECTOR_TOKEN}). With --url: sent to the collector. With --db: "
        "browsers must give it (required to bind beyond loopback); it grants reads only",
    )
    parser.add_argument("--open", action="store_true", help="open the UI in the default browser")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        from spanflow_collector.server import CollectorConfigError, check_binding, is_loopback
        from spanflow_collector.ui.serve import index_app, proxy_app, serve
        from spanflow_collector.ui.static import UiAssetsMissing
    except ImportError as exc:
        return _fail(
            f"the collector extra is missing ({exc}); "
            "install it with: pip install 'spanflow[collector]'"
        )
    try:
        token = _read_token(args.token_file)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        check_binding(args.host, token)  # before opening anything
        if args.url:
            if not args.url.startswith(("http://", "https://")):
                return _fail(f"--url must start with http:// or https://, got {args.url!r}")
            # On loopback the proxy adds the collector's token itself; beyond it, each browser
            # must give the token, so the proxy never lends its own to strangers.
            forwarded = token if is_loopback(args.host) else None
            app = proxy_app(args.url, host=args.host, token=forwarded)
            describe = f"collector {args.url}"
        else:
            db = args.db or os.environ.get(SPANFLOW_DB) or Default.SPANFLOW_DB
            if "://" not in db and not os.path.isfile(db):
                return _fail(f"no run index at {db} (record a run first, or pass --db)")
            app = index_app(db, host=args.host, token=token)
            describe = f"index {db}"
        serve(
            app,
            host=args.host,
            port=args.port,
            token=token,
            describe=describe,
            open_browser=args.open,
        )
    except (CollectorConfigError, UiAssetsMissing) as exc:
        return _fail(str(exc))
    except (OSError, OverflowError) as exc:  # OverflowError: a port beyond 65535
        print(f"spanflow ui: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def _fail(message: str) -> int:
    print(f"spanflow ui: {message}", file=sys.stderr)
    return 2


def _read_token(path: str | None) -> str | None:
    """The token in ``path`` (whitespace dropped), else the read token, else the full token."""
    if path is None:
        return (
            os.environ.get(SPANFLOW_COLLECTOR_READ_TOKEN)
            or os.environ.get(SPANFLOW_COLLECTOR_TOKEN)
            or None
        )
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read --token-file {path}: {exc}") from None
    if not token:
        raise ValueError(f"--token-file {path} is empty")
    return token
