"""``run``: a run as ``with``, ``async with`` and decorator, plus ``current_run`` and ``launch``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar, cast

from spanflow._internal import lifecycle, membership
from spanflow._internal.handle import RunHandle

F = TypeVar("F", bound=Callable[..., Any])


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
        id: Use this run id instead of a new ULID.
        resume: Id (or handle) of an earlier run: open a new segment of it instead of a new run.
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
        redact: bool | None = None,
        **attributes: Any,
    ) -> None:
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
        )
        self._entered: list[tuple[RunHandle, object]] = []
        self._function = self._wrap(function) if function is not None else None
        if function is not None:
            functools.update_wrapper(self, function)

    # --- context manager ---------------------------------------------------------------------
    def __enter__(self) -> RunHandle:
        handle, token = lifecycle.open_run(self._spec)
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


def current_run() -> RunHandle | None:
    """The run the caller is in (a subrun's own handle inside a subrun), or ``None``."""
    return membership.current_run()
