"""``spanflow collector``: receive OTLP traces into the run index and serve the query API.

Options are checked before anything starts: a bad value is one line on stderr and exit code 2.
Tokens come from the environment or from files; ``--token`` on the command line still works but
is visible to every user of the machine (``ps``), so it warns.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spanflow.environment import (
    SPANFLOW_COLLECTOR_INGEST_TOKEN,
    SPANFLOW_COLLECTOR_READ_TOKEN,
    SPANFLOW_COLLECTOR_TOKEN,
    SPANFLOW_DB,
    Default,
)

_MAX_BODY_MIB = 1024  # gRPC's message length is a 32-bit signed int; 1 GiB is plenty
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_AGE_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


class _OptionError(ValueError):
    """A collector option is out of range or unreadable (one line, exit code 2)."""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``collector`` subcommand."""
    parser = subparsers.add_parser(
        "collector",
        help="receive OTLP traces (HTTP 4318, gRPC 4317) into the run index",
        description="Receive OTLP traces into the run index and serve the query API. "
        "Binds 127.0.0.1 unless given a token.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", default="4318", help="OTLP/HTTP and API port (4318)")
    parser.add_argument("--grpc-port", default="4317", help="OTLP/gRPC port (4317)")
    parser.add_argument("--no-grpc", action="store_true", help="do not serve OTLP/gRPC")
    parser.add_argument(
        "--db",
        default=None,
        help=f"SQLite path or postgresql:// URL (${SPANFLOW_DB}, else {Default.SPANFLOW_DB})",
    )
    tokens = parser.add_argument_group("access (tokens are read from files or the environment)")
    tokens.add_argument(
        "--token-file",
        help=f"file holding the token that grants everything (${SPANFLOW_COLLECTOR_TOKEN}); "
        "a token is required to bind beyond loopback",
    )
    tokens.add_argument(
        "--ingest-token-file",
        help=f"file holding a token for OTLP ingest only (${SPANFLOW_COLLECTOR_INGEST_TOKEN})",
    )
    tokens.add_argument(
        "--read-token-file",
        help=f"file holding a token for API reads only (${SPANFLOW_COLLECTOR_READ_TOKEN})",
    )
    tokens.add_argument(
        "--token", help="the full token on the command line (visible in ps; prefer --token-file)"
    )
    tokens.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="also answer requests for this Host name (repeatable; loopback names always)",
    )
    limits = parser.add_argument_group("limits")
    limits.add_argument(
        "--max-body-mib", default="20", help="largest OTLP request in MiB, compressed or not (20)"
    )
    limits.add_argument(
        "--max-spans-per-request", default="20000", help="larger exports get 413 (20000)"
    )
    limits.add_argument("--max-connections", default="1000", help="open HTTP connections (1000)")
    limits.add_argument(
        "--header-timeout-s", default="10", help="time to send request headers (10)"
    )
    limits.add_argument("--body-timeout-s", default="60", help="time to send a request body (60)")
    limits.add_argument(
        "--decode-processes",
        default="2",
        help="worker processes decoding large OTLP/HTTP trace bodies; 0: threads only (2)",
    )
    retention = parser.add_argument_group(
        "retention (prune old runs at start and on a schedule; see docs/query.md)"
    )
    retention.add_argument(
        "--retention-older-than", metavar="AGE", help="delete runs started longer ago: 30d, 12h"
    )
    retention.add_argument(
        "--retention-keep-last", metavar="N", help="always keep the N newest top-level runs"
    )
    retention.add_argument(
        "--retention-project",
        action="append",
        default=[],
        metavar="P",
        help="apply the policy per project, to these projects only (repeatable)",
    )
    retention.add_argument(
        "--retention-interval-s", default="3600", help="seconds between passes (3600)"
    )
    parser.add_argument(
        "--redact-pattern",
        action="append",
        default=[],
        metavar="REGEX",
        help="also redact matches of this regular expression in every stored span "
        "(repeatable; the built-in secret rules always apply)",
    )
    parser.set_defaults(func=_run)


@dataclass(frozen=True)
class _Tokens:
    full: str | None
    ingest: str | None
    read: str | None


def _run(args: argparse.Namespace) -> int:
    try:
        from spanflow_collector.limits import ReceiverLimits
        from spanflow_collector.redact import set_extra_patterns
        from spanflow_collector.server import (
            CollectorConfigError,
            CollectorStartError,
            run_collector,
        )
    except ImportError as exc:
        return _fail(
            f"the collector extra is missing ({exc}); "
            "install it with: pip install 'spanflow[collector]'"
        )
    try:
        http_port = _integer(args.port, "--port", 0, 65535)
        grpc_port = _integer(args.grpc_port, "--grpc-port", 0, 65535)
        max_body_mib = _integer(args.max_body_mib, "--max-body-mib", 1, _MAX_BODY_MIB)
        limits = ReceiverLimits(
            max_spans_per_request=_integer(
                args.max_spans_per_request, "--max-spans-per-request", 1, 100_000
            ),
            max_connections=_integer(args.max_connections, "--max-connections", 1, 1_000_000),
            header_timeout_s=_seconds(args.header_timeout_s, "--header-timeout-s"),
            body_timeout_s=_seconds(args.body_timeout_s, "--body-timeout-s"),
            decode_processes=_integer(args.decode_processes, "--decode-processes", 0, 64),
        )
        tokens = _read_tokens(args)
        retention = _retention_policy(args)
    except _OptionError as exc:
        return _fail(str(exc))
    if args.token:
        print(
            "spanflow collector: warning: --token is visible to other users in the process "
            f"list; use --token-file or ${SPANFLOW_COLLECTOR_TOKEN} instead",
            file=sys.stderr,
        )
    db = args.db or os.environ.get(SPANFLOW_DB) or Default.SPANFLOW_DB
    try:
        set_extra_patterns(args.redact_pattern)
    except ValueError as exc:
        return _fail(f"--redact-pattern: {exc}")
    try:
        run_collector(
            db,
            host=args.host,
            http_port=http_port,
            grpc_port=None if args.no_grpc else grpc_port,
            token=tokens.full,
            ingest_token=tokens.ingest,
            read_token=tokens.read,
            allowed_hosts=args.allow_host,
            max_body_bytes=max_body_mib * 1024 * 1024,
            limits=limits,
            retention=retention,
        )
    except CollectorConfigError as exc:
        return _fail(str(exc))
    except CollectorStartError as exc:
        print(f"spanflow collector: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"spanflow collector: cannot listen: {exc}", file=sys.stderr)
        return 1
    return 0


def _retention_policy(args: argparse.Namespace) -> Any:
    """The ``RetentionPolicy`` the ``--retention-*`` options ask for, or None."""
    from spanflow.query.analysis.retention import RetentionPolicy  # the collector extra

    if args.retention_older_than is None and args.retention_keep_last is None:
        if args.retention_project:
            raise _OptionError("--retention-project needs --retention-older-than or -keep-last")
        return None
    older_than_s = None
    if args.retention_older_than is not None:
        match = _AGE.match(args.retention_older_than)
        if not match:
            raise _OptionError(
                f"--retention-older-than must be an age such as 30d, 12h or 90m, "
                f"got {args.retention_older_than!r}"
            )
        older_than_s = float(match.group(1)) * _AGE_UNIT_S[match.group(2)]
    keep_last = (
        _integer(args.retention_keep_last, "--retention-keep-last", 0, 10_000_000)
        if args.retention_keep_last is not None
        else None
    )
    try:
        interval_s = float(args.retention_interval_s)
    except ValueError:
        interval_s = 0.0
    if not 1.0 <= interval_s <= 30 * 86_400:
        raise _OptionError(
            "--retention-interval-s must be a number of seconds from 1 to 2592000, "
            f"got {args.retention_interval_s!r}"
        )
    return RetentionPolicy(
        older_than_s=older_than_s,
        keep_last=keep_last,
        projects=tuple(args.retention_project),
        interval_s=interval_s,
    )


def _fail(message: str) -> int:
    print(f"spanflow collector: {message}", file=sys.stderr)
    return 2


def _integer(text: str, option: str, lowest: int, highest: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = lowest - 1
    if not lowest <= value <= highest:
        raise _OptionError(f"{option} must be an integer from {lowest} to {highest}, got {text!r}")
    return value


def _seconds(text: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0.0 < value <= 3600.0:  # also refuses nan
        raise _OptionError(f"{option} must be a number of seconds from 0 to 3600, got {text!r}")
    return value


def _read_tokens(args: argparse.Namespace) -> _Tokens:
    if args.token and args.token_file:
        raise _OptionError("give the full token once: --token or --token-file, not both")
    full = args.token or _token_from(args.token_file, "--token-file", SPANFLOW_COLLECTOR_TOKEN)
    ingest = _token_from(
        args.ingest_token_file, "--ingest-token-file", SPANFLOW_COLLECTOR_INGEST_TOKEN
    )
    read = _token_from(args.read_token_file, "--read-token-file", SPANFLOW_COLLECTOR_READ_TOKEN)
    tokens = _Tokens(full=full, ingest=ingest, read=read)
    for scope, token in (("full", full), ("ingest", ingest), ("read", read)):
        # A token travels in an HTTP header: visible ASCII only, or no client could send it.
        if token is not None and not (token.isascii() and token.isprintable() and " " not in token):
            raise _OptionError(f"the {scope} token must be printable ASCII without spaces")
    return tokens


def _token_from(path: str | None, option: str, variable: str) -> str | None:
    """The token in the file at ``path`` (surrounding whitespace dropped), else ``$variable``."""
    if path is None:
        return os.environ.get(variable) or None
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise _OptionError(f"cannot read {option} {path}: {reason}") from None
    if not token:
        raise _OptionError(f"{option} {path} is empty")
    return token
