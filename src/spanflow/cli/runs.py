"""``spanflow runs``: list, show, tree, graph, compare, stats, delete, prune, export, import,
artifacts, download."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from spanflow import environment as env
from spanflow.cli import CommandListFormatter, runs_artifacts, runs_bundle
from spanflow.cli import runs_render as render
from spanflow.cli import runs_stats_render as stats_render
from spanflow.client import (
    AuthenticationError,
    Client,
    ClientError,
    InvalidQueryError,
    RunNotFoundError,
    RunSummary,
)
from spanflow.query import codec, replay_changes
from spanflow.query.analysis.encode import encode_paired, encode_stats
from spanflow.query.terminal_text import printable, printable_json

_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}

Command = Callable[[Client, argparse.Namespace], int]


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``spanflow runs`` and its subcommands."""
    source = argparse.ArgumentParser(add_help=False)
    group = source.add_argument_group("where to read")
    where = group.add_mutually_exclusive_group()
    where.add_argument(
        "--url",
        type=_collector_url,
        help=f"collector base URL, http(s):// (default: ${env.SPANFLOW_ENDPOINT} if set)",
    )
    where.add_argument(
        "--db",
        type=_index_location,
        help=f"run index: SQLite path or postgresql:// URL (default: ${env.SPANFLOW_DB} "
        "or ./.spanflow/index.db)",
    )
    group.add_argument(
        "--token", help=f"collector bearer token (default: ${env.SPANFLOW_COLLECTOR_TOKEN})"
    )
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON instead of text")

    runs = subparsers.add_parser(
        "runs",
        help="list, inspect, compare and delete runs",
        formatter_class=CommandListFormatter,
    )
    runs.set_defaults(func=lambda args: _usage(runs))
    commands = runs.add_subparsers(dest="runs_command", metavar="COMMAND")

    listing = commands.add_parser(
        "list", parents=[source, as_json], help="list runs, newest first", aliases=["ls"]
    )
    _add_filters(listing)
    listing.set_defaults(func=_command(_list))

    show = commands.add_parser("show", parents=[source, as_json], help="one run in detail")
    show.add_argument("run_id")
    show.set_defaults(func=_command(_show))

    tree = commands.add_parser("tree", parents=[source, as_json], help="a run's span tree")
    tree.add_argument("run_id")
    tree.add_argument(
        "--markers", action="store_true", help="keep the run.start / run.heartbeat spans"
    )
    tree.set_defaults(func=_command(_tree))

    graph = commands.add_parser("graph", parents=[source, as_json], help="a run's dataflow graph")
    graph.add_argument("run_id")
    # --json like every other runs command; --format json stays for scripts that use it.
    graph.add_argument("--format", choices=("mermaid", "dot", "json"), default=None)
    graph.set_defaults(func=_command(_graph))

    compare = commands.add_parser(
        "compare", parents=[source, as_json], help="params, metrics and outputs side by side"
    )
    compare.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    compare.add_argument(
        "--pair-by",
        default="name",
        help="two evaluation runs: pair subruns by 'name' (default), 'param:KEY' or 'attr:KEY'",
    )
    compare.add_argument(
        "--confidence", type=float, default=0.95, help="confidence level (default 0.95)"
    )
    compare.add_argument(
        "--no-paired", action="store_true", help="only the side-by-side table, no paired statistics"
    )
    compare.set_defaults(func=_command(_compare))

    stats = commands.add_parser(
        "stats", parents=[source, as_json], help="a metric across runs: history and summary"
    )
    stats.add_argument("-m", "--metric", required=True, help="the metric to follow")
    stats.add_argument("-p", "--project")
    stats.add_argument("--by", metavar="PARAM", help="summarize per value of this param")
    stats.add_argument("--last", type=int, help="only the newest N runs holding the metric")
    stats.add_argument("-s", "--status", action="append", help="only runs with this status")
    stats.add_argument("-t", "--tag", action="append", help="runs with every given tag")
    stats.add_argument("-n", "--name", help="the run name contains this text")
    stats.set_defaults(func=_command(_stats))

    remove = commands.add_parser(
        "delete",
        parents=[source],
        help="delete runs with their spans and subruns",
        aliases=["rm"],
    )
    remove.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    remove.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    remove.set_defaults(func=_command(_remove))

    prune = commands.add_parser(
        "prune", parents=[source], help="delete old runs with their subruns (retention)"
    )
    prune.add_argument("--older-than", metavar="AGE", help="started more than AGE ago: 30d, 12h")
    prune.add_argument("--keep-last", type=int, metavar="N", help="always keep the N newest")
    prune.add_argument(
        "-s", "--status", action="append", help="only runs with this status (repeatable)"
    )
    prune.add_argument("-p", "--project")
    prune.add_argument("--dry-run", action="store_true", help="list what would go, delete nothing")
    prune.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    prune.set_defaults(func=_command(_prune))

    runs_bundle.register(commands, source, wrap=_command, time_bound=_time_bound)
    runs_artifacts.register(commands, source, as_json, wrap=_command)


def _collector_url(text: str) -> str:
    """``--url``: only an http(s) URL with a host, so nothing else is mistaken for an index."""
    scheme, _, rest = text.partition("://")
    if scheme.lower() not in ("http", "https") or not rest.strip("/"):
        raise argparse.ArgumentTypeError(
            f"{printable(text)} is not a collector URL (give http://HOST:PORT or https://...)"
        )
    return text


def _index_location(text: str) -> str:
    """``--db``: a file path or a PostgreSQL URL; any other ``scheme://`` is a mistake."""
    scheme, separator, _ = text.partition("://")
    if separator and scheme.lower() not in ("postgresql", "postgres"):
        raise argparse.ArgumentTypeError(
            f"{printable(text)} is neither an index file path nor a postgresql:// URL "
            "(a collector URL goes to --url)"
        )
    if not text:
        raise argparse.ArgumentTypeError("an empty path is not a run index")
    return text


def _add_filters(parser: argparse.ArgumentParser) -> None:
    filters = parser.add_argument_group("filters")
    filters.add_argument("-p", "--project")
    filters.add_argument(
        "-s", "--status", action="append", help="running, completed, failed, ... (repeatable)"
    )
    filters.add_argument("-t", "--tag", action="append", help="runs with every given tag")
    filters.add_argument("-n", "--name", help="the run name contains this text")
    filters.add_argument("--since", help="started after: 2h, 3d, ISO 8601 or unix seconds")
    filters.add_argument("--until", help="started before: same forms as --since")
    filters.add_argument("--parent", help="only subruns of this run")
    filters.add_argument("--top-level", action="store_true", help="leave subruns out")
    filters.add_argument("--param", action="append", help="e.g. 'lr>0.01' (repeatable)")
    filters.add_argument("--metric", action="append", help="e.g. 'accuracy>=0.9' (repeatable)")
    filters.add_argument(
        "--attr", action="append", help="free run attribute, e.g. 'dataset=gsm8k' (repeatable)"
    )
    paging = parser.add_argument_group("paging")
    paging.add_argument("--limit", type=int, default=20, help="runs per page (default 20)")
    paging.add_argument("--cursor", help="continue after a previous page")
    paging.add_argument("--all", action="store_true", help="every matching run, all pages")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _command(command: Command) -> Callable[[argparse.Namespace], int]:
    """Open the client, run ``command``, and turn client errors into a message and exit code."""

    def run(args: argparse.Namespace) -> int:
        _escape_unencodable_output()
        try:
            with Client(args.url or args.db or None, token=args.token) as client:
                return command(client, args)
        except InvalidQueryError as exc:
            name = {"q": "name", "started_after": "since", "started_before": "until"}.get(
                exc.parameter, exc.parameter
            )
            message = str(exc).removeprefix(f"{exc.parameter}: ")
            option = name and name != "ids"  # compare's ids are positional, not an option
            _error(f"--{name.replace('_', '-')}: {message}" if option else message)
            return 2
        except AuthenticationError as exc:
            _error(f"{exc} (pass --token or set ${env.SPANFLOW_COLLECTOR_TOKEN})")
            return 1
        except ClientError as exc:
            _error(str(exc))
            return 1

    return run


def _escape_unencodable_output() -> None:
    """Print what the terminal's encoding cannot show as escapes instead of failing on it."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def _error(message: str) -> None:
    print(f"spanflow runs: {printable(message)}", file=sys.stderr)


def _style() -> render.Style:
    return render.Style(color=sys.stdout.isatty() and not os.environ.get("NO_COLOR"))


def _print_json(value: Any) -> None:
    print(printable_json(json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)))


def _time_bound(text: str | None) -> str | None:
    """``2h`` / ``3d`` mean that long ago; anything else goes to the index as it is."""
    if text is None:
        return None
    match = _AGO.match(text)
    if not match:
        return text
    seconds_ago = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return repr(time.time() - seconds_ago)


def _list(client: Client, args: argparse.Namespace) -> int:
    filters: dict[str, Any] = {
        "project": args.project,
        "status": args.status,
        "tags": args.tag,
        "name": args.name,
        "started_after": _time_bound(args.since),
        "started_before": _time_bound(args.until),
        "parent": args.parent,
        "top_level": args.top_level,
        "params": args.param,
        "metrics": args.metric,
        "attributes": args.attr,
    }
    runs: list[RunSummary]
    if args.all:
        runs, next_cursor = list(client.iter_runs(**filters, page_size=args.limit)), None
    else:
        page = client.list_runs(**filters, limit=args.limit, cursor=args.cursor)
        runs, next_cursor = list(page.runs), page.next_cursor
    if args.json:
        _print_json({"runs": [codec.encode_run(run) for run in runs], "next_cursor": next_cursor})
        return 0
    if not runs:
        print("no runs match" if any(filters.values()) or args.cursor else "no runs yet")
        return 0
    print(render.runs_table(runs, now_ns=time.time_ns(), style=_style()))
    if next_cursor:
        print(f"more runs: add --cursor {printable(next_cursor)} (or --all)", file=sys.stderr)
    return 0


def _show(client: Client, args: argparse.Namespace) -> int:
    detail = client.run_detail(args.run_id)
    if args.json:
        _print_json(codec.encode_detail(detail))
    else:
        print(render.run_detail_text(detail, now_ns=time.time_ns(), style=_style()))
    return 0


def _tree(client: Client, args: argparse.Namespace) -> int:
    roots = client.tree(args.run_id, include_markers=args.markers)
    if args.json:
        _print_json({"roots": codec.encode_tree(roots)})
    elif roots:
        print(render.span_tree_text(roots, style=_style()))
    else:
        print("no spans recorded for this run")
    return 0


def _graph(client: Client, args: argparse.Namespace) -> int:
    if args.json and args.format not in (None, "json"):
        _error(f"--json and --format {args.format} disagree")
        return 2
    output_format = "json" if args.json else args.format or "mermaid"
    graph = client.graph(args.run_id)
    # A replay run marks its edited calls and the calls whose output changed (docs/replay.md).
    original_id = replay_changes.replay_of(client.get_run(args.run_id))
    changes = replay_changes.call_changes(client, original_id, args.run_id) if original_id else []
    if output_format == "json":
        _print_json(codec.encode_graph(graph))
    elif output_format == "dot":
        sys.stdout.write(replay_changes.mark_dot(graph.to_dot(), changes))
    else:
        sys.stdout.write(replay_changes.mark_mermaid(graph.to_mermaid(), graph, changes))
    return 0


def _compare(client: Client, args: argparse.Namespace) -> int:
    comparison = client.compare(*args.run_ids)
    paired = None
    if len(args.run_ids) == 2 and not args.no_paired:
        first, second = comparison.runs
        if client.children(first.id) and client.children(second.id):
            paired = client.compare_paired(
                first.id, second.id, pair_by=args.pair_by, confidence=args.confidence
            )
    if args.json:
        encoded = codec.encode_comparison(comparison)
        if paired is not None:
            encoded["paired"] = encode_paired(paired)
        _print_json(encoded)
        return 0
    print(render.comparison_text(comparison, style=_style()))
    if paired is not None:
        print()
        print(stats_render.paired_text(paired, style=_style()))
    _print_replay_changes(client, comparison.runs)
    return 0


def _stats(client: Client, args: argparse.Namespace) -> int:
    stats = client.metric_stats(
        args.metric,
        project=args.project,
        by=args.by,
        last=args.last,
        status=args.status,
        tags=args.tag,
        name=args.name,
    )
    if args.json:
        _print_json(encode_stats(stats))
    else:
        print(stats_render.stats_text(stats))
    return 0


def _age_s(text: str) -> float:
    """``--older-than``: ``30d``, ``12h``, ``90m``, ``2w`` or seconds."""
    match = _AGO.match(text)
    if match:
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    try:
        return float(text)
    except ValueError:
        raise InvalidQueryError(
            "older_than", f"{text!r} is not an age such as 30d or 12h"
        ) from None


def _prune(client: Client, args: argparse.Namespace) -> int:
    older_than_s = _age_s(args.older_than) if args.older_than is not None else None
    policy = {
        "older_than_s": older_than_s,
        "keep_last": args.keep_last,
        "status": args.status or (),
        "project": args.project,
    }
    chosen = client.prune(**policy, dry_run=True)
    if not chosen.runs:
        print("no runs to prune")
        return 0
    if args.dry_run:
        for run in chosen.runs:
            print(f"would delete {printable(run.id)} ({printable(run.name)}, {run.status})")
        print(f"{len(chosen.runs)} runs (with their subruns) would be deleted")
        return 0
    if not args.yes and sys.stdin.isatty():
        answer = input(f"delete {len(chosen.runs)} runs with their spans and subruns? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    result = client.prune(**policy, progress=runs_bundle.progress_bar("pruning"))
    print(f"deleted {len(result.runs)} runs ({result.deleted} with subruns)")
    return 0


def _print_replay_changes(client: Client, runs: tuple[RunSummary, ...]) -> None:
    """Under a comparison of a run and its replay, which call outputs changed."""
    if len(runs) != 2:
        return
    first, second = runs
    if replay_changes.replay_of(second) == first.id:
        original, replayed = first, second
    elif replay_changes.replay_of(first) == second.id:
        original, replayed = second, first
    else:
        return
    changes = replay_changes.call_changes(client, original.id, replayed.id)
    print()
    print(replay_changes.changes_text(changes))


def _remove(client: Client, args: argparse.Namespace) -> int:
    runs = [client.get_run(run_id) for run_id in args.run_ids]  # all exist before any goes
    if not args.yes and sys.stdin.isatty():
        names = ", ".join(f"{printable(run.name)} ({printable(run.id)})" for run in runs)
        answer = input(f"delete {names} with their spans and subruns? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    for run in runs:
        try:
            deleted = client.delete(run.id)
        except RunNotFoundError:  # a subrun of a run deleted just before
            print(f"deleted {printable(run.id)} ({printable(run.name)}) with its parent")
            continue
        subruns = deleted - 1
        extra = f" and {subruns} subrun{'s' if subruns != 1 else ''}" if subruns > 0 else ""
        print(f"deleted {printable(run.id)} ({printable(run.name)}){extra}")
    return 0
