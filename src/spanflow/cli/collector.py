"""``spanflow collector``: receive OTLP traces into the run index and serve the query API."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from spanflow.environment import SPANFLOW_COLLECTOR_TOKEN, SPANFLOW_DB

_DEFAULT_DB = os.path.join(".spanflow", "index.db")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``collector`` subcommand."""
    parser = subparsers.add_parser(
        "collector",
        help="receive OTLP traces (HTTP 4318, gRPC 4317) into the run index",
        description="Receive OTLP traces into the run index and serve the query API. "
        "Binds 127.0.0.1 unless given a token.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=4318, help="OTLP/HTTP and API port (4318)")
    parser.add_argument("--grpc-port", type=int, default=4317, help="OTLP/gRPC port (4317)")
    parser.add_argument("--no-grpc", action="store_true", help="do not serve OTLP/gRPC")
    parser.add_argument(
        "--db",
        default=None,
        help=f"SQLite path or postgresql:// URL (${SPANFLOW_DB}, else {_DEFAULT_DB})",
    )
    parser.add_argument(
        "--token",
        default=None,
        help=f"bearer token clients must send (${SPANFLOW_COLLECTOR_TOKEN}); "
        "required to bind beyond loopback",
    )
    parser.add_argument(
        "--max-body-mib",
        type=int,
        default=20,
        help="largest OTLP request in MiB, compressed or not (20)",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        from spanflow_collector.server import CollectorConfigError, run_collector
    except ImportError as exc:
        print(
            f"spanflow collector: the collector extra is missing ({exc}); "
            "install it with: pip install 'spanflow[collector]'",
            file=sys.stderr,
        )
        return 2
    db = args.db or os.environ.get(SPANFLOW_DB) or _DEFAULT_DB
    token = args.token or os.environ.get(SPANFLOW_COLLECTOR_TOKEN) or None
    try:
        run_collector(
            db,
            host=args.host,
            http_port=args.port,
            grpc_port=None if args.no_grpc else args.grpc_port,
            token=token,
            max_body_bytes=args.max_body_mib * 1024 * 1024,
        )
    except CollectorConfigError as exc:
        print(f"spanflow collector: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"spanflow collector: cannot listen: {exc}", file=sys.stderr)
        return 1
    return 0
