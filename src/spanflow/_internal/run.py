"""``run``: a run as ``with``, ``async with`` and decorator, plus ``current_run`` and ``launch``."""

from __future__ import annotations

import contextvars
import functools
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar, cast

from spanflow._internal import existing_run, lifecycle, membership
from spanflow._internal.handle import RunHandle
from spanflow.dataflow.switch import forget_run_tree

F = TypeVar("F", bound=Callable[..., Any])

_RUN_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def checked_run_id(argument: str, run_id: str) -> str:
    """``run_id`` when it can travel in a URL path unchanged; else ``ValueError``.

    An id is one path segment of the query API (``/api/v1/runs/{id}``): a ``/``, a space or
    ``%`` would reach a collector as another path, so such ids are refused up front rather
    than stored locally and lost through the collector.
    """
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id) or run_id in (".", ".."):
        raise ValueError(
            f"{argument}={run_id!r} is not a usable run id: use 1 to 128 letters, digits, "
            "'_', '.', ':' or '-'"
        )
    return run_id


class run:
    """Open a run: a root span in a new trace, current until the block or function ends.

    Use it as ``with spanflow.run(...) as r:``, ``async with spanflow.run(...) as r:``, or as a
    decorator (``@spanflow.run(...)`` or bare ``@spanflow.run``) on sync and async functions,
    where every call opens a fresh run. A run opened while another is current is a subrun.

    Args:
        name: Run name; a readable one such as ``brave-otter-417`` is generated when omitted.
        project: Project of the run (default: the configured project, else ``"default"``).
        tags: Tags for filtering.
        params: Parameters of the run (``spanflow.param.<key>``).
        id: Use this run id instead of a new ULID (letters, digits, ``_ . : -``; up to 128).
        resume: Id (or handle) of an earlier run: open a new segment of it, keeping its name,
            project and tags. Raises ``spanflow.client.RunNotFoundError`` when the run index
            answers that it holds no such run.
        if_exists: With ``id=``, what to do when that run already exists (in this process or
            the run index): ``"error"`` (default) raises ``spanflow.RunExistsError``,
            ``"resume"`` opens a new segment of it, ``"new"`` opens a fresh run with a new id
            whose ``rerun_of`` attribute names the old one. See docs/runs.md.
        redact: ``False`` records this run's values (params, tags, outputs, errors, LLM messages
            of calls inside it, subruns included) without secret redaction: credentials in them
            are stored in the index as they are. Default: the enclosing run's setting, else
            ``configure(redact=...)`` (on). See docs/secrets.md.
        **attributes: Free attributes, recorded under ``spanflow.run.attr.<key>``.
    """

    def __init__(
        self,
        name: str | Callable[..., Any] | None = None,
        *,
        project: str | None = None,
        tags: Iterable[str] = (),
        params: Mapping[str, Any] | None = None,
        id: str | None = None,
        resume: str | RunHandle | None = None,
        if_exists: existing_run.IfExists | None = None,
        redact: bool | None = None,
        **attributes: Any,
    ) -> None:
        if id is not None:
            checked_run_id("id", id)
        if isinstance(resume, str):
            checked_run_id("resume", resume)
        function: Callable[..., Any] | None = None
        if callable(name):  # bare ``@spanflow.run``
            function, name = name, None
        self._spec = lifecycle.RunSpec(
            name=name,
            project=project,
            tags=tuple(dict.fromkeys(tags)),
            params=dict(params or {}),
            run_id=id,
            resume=resume,
            extra_attributes=attributes,
            redact=redact,
            if_exists=existing_run.checked_if_exists(if_exists),
        )
        self._entered: list[tuple[RunHandle, object]] = []
        self._function = self._wrap(function) if function is not None else None
        if function is not None:
            functools.update_wrapper(self, function)

    # --- context manager ---------------------------------------------------------------------
    def __enter__(self) -> RunHandle:
        handle, token = lifecycle.open_run(self._spec)
        handle._set_finisher(functools.partial(lifecycle.finish_run, handle))
        self._entered.append((handle, token))
        return handle

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        handle, token = self._entered.pop()
        lifecycle.close_run(handle, token, exc)
        # Returning None lets the user's exception propagate as the very same object.

    async def __aenter__(self) -> RunHandle:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)

    # --- decorator -----------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """As ``@spanflow.run(...)``: wrap a function; as bare ``@spanflow.run``: call it."""
        if self._function is not None:
            return self._function(*args, **kwargs)
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self._wrap(args[0])
        raise TypeError("spanflow.run(...) decorates one function: @spanflow.run(...)")

    def _fresh(self) -> run:
        copy = run.__new__(run)
        copy._spec = self._spec
        copy._entered = []
        copy._function = None
        return copy

    def _wrap(self, function: F) -> F:
        if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
            raise TypeError(
                "spanflow.run cannot decorate a generator function: the run would end before "
                "the generator runs; use `with spanflow.run():` inside it"
            )
        if inspect.iscoroutinefunction(function):
            coroutine_function = cast(Callable[..., Awaitable[Any]], function)

            @functools.wraps(function)
            async def run_coroutine(*args: Any, **kwargs: Any) -> Any:
                async with self._fresh():
                    return await coroutine_function(*args, **kwargs)

            return cast(F, run_coroutine)

        @functools.wraps(function)
        def run_function(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return function(*args, **kwargs)

        return cast(F, run_function)


launch = run
"""Alias of :class:`run` for users coming from Sovara's ``launch()``."""


def start_run(
    name: str | None = None,
    *,
    project: str | None = None,
    tags: Iterable[str] = (),
    params: Mapping[str, Any] | None = None,
    id: str | None = None,
    resume: str | RunHandle | None = None,
    if_exists: existing_run.IfExists | None = None,
    redact: bool | None = None,
    **attributes: Any,
) -> RunHandle:
    """Open a run without a ``with`` block and make it current; end it with ``finish()``.

    Takes the same arguments as :class:`run`. Until ``finish()`` the run is the current one
    in this thread (so ``spanflow.log_metric`` and LLM calls land in it) and a run opened
    meanwhile is its subrun. A run never finished ends ``interrupted`` when the process exits.

    Example::

        r = spanflow.start_run("nightly-eval", params={"model": "gpt-4o"})
        r.log_metrics(loss=0.1, accuracy=0.9)
        r.finish()  # or r.finish(status="failed", error=exc)
    """
    spec = run(
        name,
        project=project,
        tags=tags,
        params=params,
        id=id,
        resume=resume,
        if_exists=if_exists,
        redact=redact,
        **attributes,
    )._spec
    outer = membership.current_run()
    handle, token = lifecycle.open_run(spec)
    handle._outer = outer
    handle._set_finisher(functools.partial(_finish_started, handle, token))
    return handle


def _finish_started(
    handle: RunHandle, token: object, status: str, error: BaseException | None
) -> None:
    """End a run from ``start_run``; leave its context if this is the context that entered it.

    Finished from another thread or task (a callback, a watchdog), or while a run opened later
    is still current, the context cannot be left from here: a context variable resets only in
    the context that set it, and leaving out of order would drop the later run's. The run is
    marked instead, and contexts still holding it read as the run current before ``start_run``.
    """
    lifecycle.finish_run(handle, status, error)
    if handle.parent_id is None:
        forget_run_tree(handle.id)
    if membership.run_in_context() is not handle or not _reset_here(token):
        handle._left_in_context = True


def _reset_here(token: object) -> bool:
    """Leave the context ``token`` entered, if this is the context that entered it.

    OpenTelemetry's runtime context is a ``contextvars.ContextVar`` and its attach token that
    variable's ``Token``; resetting it elsewhere raises instead of (as ``otel_context.detach``
    does) logging an error for what is, here, an expected case.
    """
    variable = getattr(token, "var", None)
    if not isinstance(token, contextvars.Token) or not isinstance(variable, contextvars.ContextVar):
        return False
    try:
        variable.reset(token)
    except (ValueError, RuntimeError):
        return False
    return True


def current_run() -> RunHandle | None:
    """The run the caller is in (a subrun's own handle inside a subrun), or ``None``."""
    return membership.current_run()
