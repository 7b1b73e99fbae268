"""``spanflow replay RUN_ID``: run a recorded program again, LLM calls answered from the index."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from spanflow import environment


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``replay`` subcommand."""
    parser = subparsers.add_parser(
        "replay",
        help="run a recorded run again, answering its LLM calls from the index",
        description=(
            "Start the recorded command (or COMMAND) as a new run linked to RUN_ID. LLM calls "
            "that match a recorded call are answered from the recording without a network "
            "request; --edit replaces one call's output, --param overrides run params."
        ),
        usage=(
            "spanflow replay RUN_ID [--edit CALL=TEXT|@FILE]... [--param KEY=VALUE]... "
            "[--miss live|error] [--db PATH_OR_URL] [-- COMMAND...]"
        ),
    )
    parser.add_argument("run_id", metavar="RUN_ID")
    parser.add_argument("--edit", action="append", default=[], metavar="CALL=TEXT|@FILE")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--miss", choices=("live", "error"), default="live")
    parser.add_argument("--db", help="run index or collector URL (default: where the SDK writes)")
    parser.add_argument("command", nargs="*", help="-- COMMAND to run instead")
    parser.set_defaults(func=_replay)
    _parse_intermixed(parser)


def _parse_intermixed(parser: argparse.ArgumentParser) -> None:
    """Let ``-- COMMAND`` follow options that follow RUN_ID (``RUN --db X -- python app.py``).

    argparse fills all positionals from the first run of them (RUN_ID, and COMMAND as empty),
    so a later ``-- COMMAND`` would be an error; intermixed parsing collects it. The subcommand
    dispatcher calls ``parse_known_args``, hence the override on this parser only.
    """
    plain = parser.parse_known_args
    inside = False

    def parse_known_args(args: Any = None, namespace: Any = None) -> Any:
        nonlocal inside
        if inside:  # intermixed parsing calls parse_known_args itself (Python < 3.12)
            return plain(args, namespace)
        inside = True
        try:
            return parser.parse_known_intermixed_args(args, namespace)
        finally:
            inside = False

    setattr(parser, "parse_known_args", parse_known_args)  # noqa: B010 (a method override)


def _replay(args: argparse.Namespace) -> int:
    from spanflow.replaying import ReplayError, ReplaySession, load_run
    from spanflow.replaying._launch import parse_launch, recorded_environment

    try:
        edits: dict[str | int, str] = dict(_edit(text) for text in args.edit)
        params = dict(_param(text) for text in args.param)
        recorded = load_run(args.run_id, args.db)
        ReplaySession(recorded, edits=edits, params=params, miss=args.miss)  # checks the edits
        launch = parse_launch(recorded.launch)
    except (ReplayError, ValueError, OSError) as exc:
        print(f"spanflow replay: {exc}", file=sys.stderr)
        return 1
    for call in recorded.calls:
        if call.request_key is not None and call.unservable is not None:
            print(
                f"spanflow replay: note: call {call.position} ({call.provider} {call.operation}) "
                f"cannot be answered from its recording: {call.unservable}",
                file=sys.stderr,
            )
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    cwd: str | None = None
    if not command:
        if launch is None:
            print(
                f"spanflow replay: run {args.run_id} has no recorded command (start runs with "
                "`spanflow record`, or set SPANFLOW_RECORD_LAUNCH=1); give one after --",
                file=sys.stderr,
            )
            return 1
        command = [str(part) for part in launch["argv"]]
        recorded_cwd = launch.get("cwd")
        cwd = (
            recorded_cwd if isinstance(recorded_cwd, str) and os.path.isdir(recorded_cwd) else None
        )
    with tempfile.TemporaryDirectory(prefix="spanflow-replay-") as scratch:
        plan_path = Path(scratch, "plan.json")
        summary_dir = Path(scratch, "tallies")
        summary_dir.mkdir()
        plan = {
            "run_id": args.run_id,
            "source": args.db,
            "edits": edits,
            "params": params,
            "miss": args.miss,
            "summary_dir": str(summary_dir),
        }
        plan_path.write_text(json.dumps(plan), encoding="utf-8")
        child_env = {
            **recorded_environment(launch),
            **os.environ,
            environment.SPANFLOW_REPLAY: str(plan_path),
        }
        _note_git_change(launch, cwd)
        try:
            with subprocess.Popen(command, env=child_env, cwd=cwd) as program:
                code = program.wait()
        except OSError as exc:
            print(f"spanflow replay: cannot start {command[0]!r}: {exc}", file=sys.stderr)
            return 1
        _print_summary(summary_dir, program.pid)
    return code


def _note_git_change(launch: dict[str, Any] | None, cwd: str | None) -> None:
    """Say on stderr when the code may differ from the recorded run's (another commit, dirty)."""
    from spanflow.replaying._launch import git_state

    if launch is None or not isinstance(launch.get("git_commit"), str):
        return
    commit, dirty = git_state(cwd or os.getcwd())
    recorded = launch["git_commit"]
    if commit is not None and (commit != recorded or dirty or launch.get("git_dirty")):
        print(
            f"spanflow replay: note: recorded at commit {recorded[:12]}"
            f"{' (uncommitted changes)' if launch.get('git_dirty') else ''}, now at "
            f"{commit[:12]}{' (uncommitted changes)' if dirty else ''}: the code may differ",
            file=sys.stderr,
        )


def _edit(text: str) -> tuple[str, str]:
    call, separator, value = text.partition("=")
    if not separator or not call.strip():
        raise ValueError(f"--edit {text!r}: expected CALL=TEXT or CALL=@FILE")
    if value.startswith("@"):
        value = Path(value[1:]).read_text(encoding="utf-8")
    return call.strip(), value


def _param(text: str) -> tuple[str, Any]:
    key, separator, value = text.partition("=")
    if not separator or not key.strip():
        raise ValueError(f"--param {text!r}: expected KEY=VALUE")
    try:
        parsed: Any = json.loads(value)  # numbers, booleans, lists keep their type
    except ValueError:
        parsed = value
    return key.strip(), parsed


def _print_summary(summary_dir: Path, program_pid: int) -> None:
    """Add up the tallies every process of the replayed program wrote, and print them."""
    summaries: list[dict[str, Any]] = []
    # The program's own tally first, so its replay runs are listed before its children's.
    for path in sorted(
        summary_dir.glob("summary-*.json"), key=lambda p: p.stem != f"summary-{program_pid}"
    ):
        try:
            summaries.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    if not summaries:
        print("spanflow replay: the program made no replayed run (no tally)", file=sys.stderr)
        return
    counts = {
        key: sum(int(summary[key]) for summary in summaries)
        for key in ("served", "edited", "live", "saved_input_tokens", "saved_output_tokens")
    }
    saved = counts["saved_input_tokens"] + counts["saved_output_tokens"]
    print(
        f"replay of {summaries[0]['original_run_id']}: {counts['served']} served, "
        f"{counts['edited']} edited, {counts['live']} live; saved {saved} tokens "
        f"({counts['saved_input_tokens']} in, {counts['saved_output_tokens']} out)"
    )
    for summary in summaries:
        for run_id in summary.get("replay_run_ids", ()):
            print(f"replay run: {run_id}")
