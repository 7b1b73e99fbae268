"""``spanflow record``: run an unmodified Python script or module as one traced spanflow run."""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from collections.abc import Callable, Sequence
from importlib.util import find_spec
from types import TracebackType
from typing import Any

from spanflow.replaying._launch import launch_record


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``record`` subcommand."""
    parser = subparsers.add_parser(
        "record",
        help="run a Python script (or -m module) as a traced run, no code change",
        description=(
            "Run a script like `python script.py args...` with LLM clients instrumented and "
            "the whole script recorded as one run. Arguments after the script go to the script."
        ),
        usage="spanflow record [--project P] [--name N] [--tag T] (script.py | -m module) [args]",
    )
    parser.add_argument("--project", help="project of the run (default: configured/default)")
    parser.add_argument("--name", help="run name (default: the script or module name)")
    parser.add_argument(
        "--tag", action="append", default=[], dest="tags", help="tag the run (repeatable)"
    )
    parser.add_argument("-m", dest="module", metavar="MODULE", help="run a library module")
    parser.add_argument("program", nargs=argparse.REMAINDER, help="script.py and its arguments")
    parser.set_defaults(func=_record, _parser=parser)


def _record(args: argparse.Namespace) -> int:
    if args.module is None and not args.program:
        args._parser.error("give a script to run, or -m MODULE")
    if args.module is not None:
        target, script_args = args.module, list(args.program)
        default_name = args.module
        problem = _module_problem(target)
        if problem is not None:  # say so before a run is recorded, as `python -m` would
            print(f"spanflow record: {problem}", file=sys.stderr)
            return 1
    else:
        target, script_args = args.program[0], list(args.program[1:])
        default_name = os.path.splitext(os.path.basename(target))[0]
        if not os.path.exists(target):
            print(f"spanflow record: can't open file {target!r}", file=sys.stderr)
            return 2
    import spanflow

    _instrument(spanflow)
    is_module = args.module is not None
    run_script = _module_runner(target) if is_module else _path_runner(target)
    main_program = _as_main_program(target, script_args, is_module=is_module)
    try:
        with (
            spanflow.run(
                args.name or default_name,
                project=args.project,
                tags=args.tags,
                launch=launch_record(_record_command(args)),
            ),
            main_program,
        ):
            run_script()
    except SystemExit as exit_:
        return _exit_code(exit_)
    except Exception as error:  # the script's own failure: print it as Python would
        _print_like_python(error, main_program.script_file)
        return 1
    return 0


def _record_command(args: argparse.Namespace) -> list[str]:
    """The command that records this run again (replay starts it; docs/replay.md)."""
    command = [sys.executable, "-m", "spanflow.cli", "record"]
    if args.project:
        command += ["--project", args.project]
    if args.name:
        command += ["--name", args.name]
    for tag in args.tags:
        command += ["--tag", tag]
    if args.module is not None:
        command += ["-m", args.module]
    return command + list(args.program)


def _instrument(spanflow: Any) -> None:
    """Turn on LLM client instrumentation when this spanflow provides it."""
    instrument: Callable[[], Any] | None = getattr(spanflow, "instrument", None)
    if instrument is None:
        print(
            "spanflow record: LLM client instrumentation is not available in this spanflow "
            "version; recording the run and its steps only",
            file=sys.stderr,
        )
        return
    instrument()


def _path_runner(path: str) -> Callable[[], None]:
    def run_path() -> None:
        runpy.run_path(path, run_name="__main__")

    return run_path


def _module_runner(module: str) -> Callable[[], None]:
    def run_module() -> None:
        runpy.run_module(module, run_name="__main__", alter_sys=True)

    return run_module


class _as_main_program:
    """Make ``sys.argv`` and ``sys.path[0]`` what ``python script.py``/``-m`` would give."""

    def __init__(self, target: str, script_args: Sequence[str], *, is_module: bool) -> None:
        self._argv = [target, *script_args]
        self._path0 = os.getcwd() if is_module else os.path.dirname(os.path.abspath(target))

        self._is_module = is_module
        self.script_file: str | None = None  # the file whose frames start a user's traceback

    def __enter__(self) -> None:
        self._saved_argv, self._saved_path = sys.argv, list(sys.path)
        sys.argv = list(self._argv)  # runpy.run_module replaces argv[0] with the module file
        sys.path.insert(0, self._path0)
        self.script_file = _script_file(self._argv[0], is_module=self._is_module)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        sys.argv, sys.path[:] = self._saved_argv, self._saved_path


def _module_problem(module: str) -> str | None:
    """Why ``python -m module`` would not start, in its words; None when it would."""
    sys.path.insert(0, os.getcwd())  # where `python -m` looks first
    try:
        spec = find_spec(module)
        is_package = spec is not None and spec.submodule_search_locations is not None
        if is_package and find_spec(f"{module}.__main__") is None:
            return (
                f"No module named {module}.__main__; "
                f"{module!r} is a package and cannot be directly executed"
            )
    except Exception as exc:  # importing a parent package ran its code, which failed
        return (
            f"Error while finding module specification for {module!r} ({type(exc).__name__}: {exc})"
        )
    finally:
        sys.path.pop(0)
    return None if spec is not None else f"No module named {module}"


def _exit_code(exit_: SystemExit) -> int:
    """The process exit code ``python`` gives for this ``SystemExit``."""
    code = exit_.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # sys.exit("message") prints it and exits 1
    return 1


def _script_file(target: str, *, is_module: bool) -> str | None:
    if not is_module:
        return os.path.abspath(target)
    try:
        spec = find_spec(target)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = find_spec(f"{target}.__main__")  # ``-m package`` runs its __main__
    except (ImportError, ValueError):
        return None  # runpy reports the same problem to the user
    return os.path.abspath(spec.origin) if spec is not None and spec.origin else None


def _print_like_python(error: BaseException, script_file: str | None) -> None:
    """Print the traceback from the script's first frame on, like ``python script.py``."""
    traceback = error.__traceback__
    frame = traceback
    while frame is not None and script_file is not None:
        if os.path.abspath(frame.tb_frame.f_code.co_filename) == script_file:
            traceback = frame
            break
        frame = frame.tb_next
    # The default hook prints the exception's own __traceback__, so trim that too.
    sys.excepthook(type(error), error.with_traceback(traceback), traceback)
