"""``spanflow spool status|flush``: what waits in the on-disk spool, and delivering it now."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spanflow import environment as env
from spanflow._internal.otlp_send import OtlpEndpoint, Outcome, Sender, make_sender
from spanflow._internal.parameters import BY_NAME, ConfigurationError, value_of
from spanflow._internal.settings import default_spool_dir, resolve_endpoints
from spanflow._internal.spool import Spool


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``spanflow spool`` and its subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--dir",
        help=f"spool directory (default: ${env.SPANFLOW_SPOOL_DIR}, else {default_spool_dir()})",
    )
    parser = subparsers.add_parser(
        "spool", help="OTLP requests waiting for an endpoint that was unreachable"
    )
    commands = parser.add_subparsers(dest="spool_command", metavar="SUBCOMMAND", required=True)
    status = commands.add_parser("status", parents=[common], help="what waits, per endpoint")
    status.set_defaults(func=_status)
    flush = commands.add_parser(
        "flush",
        parents=[common],
        help="deliver it now (headers and token from the environment, as the SDK reads them)",
    )
    flush.add_argument("--timeout-s", type=float, default=10.0, help="per-request timeout (10)")
    flush.set_defaults(func=_flush)


def _spool(args: argparse.Namespace) -> Spool:
    root = value_of("spool_dir", args.dir, os.environ) or default_spool_dir()
    return Spool(Path(root), BY_NAME["spool_max_bytes"].default)


def _status(args: argparse.Namespace) -> int:
    spool = _spool(args)
    summaries = spool.summary()
    if not summaries:
        print(f"spool {spool.root}: empty")
        return 0
    print(f"spool {spool.root}:")
    for summary in summaries:
        print(
            f"  {summary.protocol} {summary.endpoint}  {summary.signal}: "
            f"{summary.items} items in {summary.files} requests ({summary.size_bytes} bytes)"
        )
    return 0


@dataclass
class _Tally:
    requests: int = 0
    items: int = 0
    refused: int = 0
    left: int = 0


def _flush(args: argparse.Namespace) -> int:
    spool = _spool(args)
    tally = _Tally()
    for directory in spool.endpoint_directories():
        _flush_directory(spool, directory, args.timeout_s, tally)
    print(
        f"delivered {tally.items} items in {tally.requests} requests; "
        f"{tally.refused} requests refused (dropped); {tally.left} requests still waiting"
    )
    return 0 if tally.left == 0 else 1


def _endpoint_for(url: str, protocol: str) -> OtlpEndpoint:
    """How to send to ``url``: as this environment configures it when it names that endpoint.

    The spool names an endpoint by its traces URL only. When the environment's OpenTelemetry
    variables name it too, their ``OTEL_EXPORTER_OTLP_LOGS_*`` settings say where its run
    records go (a trace-only backend beside a spanflow collector), as in the process that
    spooled them; otherwise run records go to ``/v1/logs`` beside the traces URL.
    """
    try:
        configured = resolve_endpoints(None, None, protocol)
    except (ConfigurationError, ValueError):
        configured = ()  # a broken environment: the spooled URL alone still works
    for endpoint in configured:
        if endpoint.url == url:
            return endpoint
    (endpoint,) = resolve_endpoints(url, None, protocol)
    return endpoint


def _flush_directory(spool: Spool, directory: Path, timeout_s: float, tally: _Tally) -> None:
    senders: dict[str, Sender] = {}
    try:
        for path in spool.pending_in(directory):
            claim = spool.claim(path)
            if claim is None:
                continue  # another process is delivering it
            request = claim.read()
            if request is None:
                continue
            sender = senders.get(request.endpoint)
            if sender is None:
                try:
                    endpoint = _endpoint_for(request.endpoint, request.protocol)
                except (ConfigurationError, ValueError) as exc:
                    claim.release()
                    print(f"spanflow: cannot deliver to {request.endpoint}: {exc}", file=sys.stderr)
                    tally.left += len(spool.pending_in(directory)) + 1
                    return
                sender = senders[request.endpoint] = make_sender(endpoint)
            answer = sender.send(request.signal, request.body, timeout_s)
            if answer.outcome is Outcome.RETRYABLE:
                claim.release()
                print(
                    f"spanflow: {request.protocol} {request.endpoint}: {answer.detail}; "
                    "its requests stay in the spool",
                    file=sys.stderr,
                )
                tally.left += len(spool.pending_in(directory))
                return
            claim.done()
            if answer.outcome is Outcome.ACCEPTED:
                tally.requests += 1
                tally.items += request.item_count
            else:
                tally.refused += 1
                print(
                    f"spanflow: {request.protocol} {request.endpoint} refused "
                    f"{request.item_count} {request.signal} items ({answer.detail}); dropped",
                    file=sys.stderr,
                )
    finally:
        for sender in senders.values():
            sender.close()
