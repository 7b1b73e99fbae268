"""``@spanflow.step``: trace a function or tool as a child span in the dataflow graph.

A step span records the bound arguments and the return value (when content capture is on) and
tells the dataflow detector what the step read and produced, so an LLM call whose prompt contains
a step's result is linked to that step — and a step fed by an LLM call's output to that call.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from spanflow import attributes, dataflow
from spanflow._internal import config
from spanflow._internal import redact as redaction
from spanflow._internal.guard import report_internal_error
from spanflow._internal.span_errors import record_error
from spanflow._version import get_tracer
from spanflow.dataflow import CallInputs, CallOutputs, TextField
from spanflow.instrumentation import content

__all__ = ["step"]


F = TypeVar("F", bound=Callable[..., Any])

_INSTRUMENTATION_NAME = "spanflow.step"
_tracer_cache: tuple[trace.TracerProvider, trace.Tracer] | None = None


@overload
def step(func: F, /) -> F: ...


@overload
def step(*, name: str | None = None) -> Callable[[F], F]: ...


def step(func: F | None = None, /, *, name: str | None = None) -> F | Callable[[F], F]:
    """Trace each call of a function (sync or ``async``) as a ``step`` span.

    Usable bare or with options::

        @spanflow.step
        def lookup(city: str) -> str: ...

        @spanflow.step(name="search")
        async def search_web(query: str) -> list[str]: ...

    The span is a child of the current span (a run, another step, a framework's span). With
    content capture on, the bound arguments go to ``spanflow.step.input`` and the return value
    to ``spanflow.step.output`` as JSON, bounded and with secrets redacted. An exception is
    recorded on the span and re-raised unchanged. A failure inside spanflow never changes what
    the function returns or raises.

    Args:
        func: The function, when used as ``@step`` without parentheses.
        name: The step (and span) name; the function's qualified name by default.

    Returns:
        The traced function (same signature, ``functools.wraps`` metadata), or a decorator.

    Raises:
        TypeError: For generator functions, whose work happens after the call returns, and
            for anything but a function in place of ``func`` (``@step("name")``).
    """
    if func is None:
        return functools.partial(_decorate, name=name)
    if not callable(func):
        # ``@spanflow.step("search")`` failed deep inside with an AttributeError on a str.
        raise TypeError(
            f"@spanflow.step takes a function; give a step name as @spanflow.step(name={func!r})"
        )
    return _decorate(func, name=name)


def _decorate(func: F, *, name: str | None) -> F:
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError(f"@step cannot trace generator function {func.__qualname__!r}")
    step_name = name or func.__qualname__
    signature = _signature_of(func)

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def traced_async(*args: Any, **kwargs: Any) -> Any:
            call = _StepCall.begin(step_name, signature, args, kwargs)
            try:
                result = await func(*args, **kwargs)
            except BaseException as error:  # re-raised untouched; cancellation ends the span too
                _finish(call, error=error)
                raise
            _finish(call, result=result)
            return result

        return traced_async  # type: ignore[return-value]

    @functools.wraps(func)
    def traced(*args: Any, **kwargs: Any) -> Any:
        call = _StepCall.begin(step_name, signature, args, kwargs)
        try:
            result = func(*args, **kwargs)
        except BaseException as error:  # re-raised untouched; Ctrl-C ends the span too
            _finish(call, error=error)
            raise
        _finish(call, result=result)
        return result

    return traced  # type: ignore[return-value]


@dataclass
class _StepCall:
    """One running step: its span, the context token making it current, the dataflow handle."""

    span: Span
    token: object
    pending: object | None

    @classmethod
    def begin(
        cls,
        step_name: str,
        signature: inspect.Signature | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> _StepCall | None:
        """Start the span and make it current; ``None`` (and a log) if spanflow fails."""
        try:
            config.ensure_configured()  # a script using only @step records too
            arguments = _bound_arguments(signature, args, kwargs)
            step_name = redaction.text(step_name)  # a name built from user data can hold a key
            span = _tracer().start_span(
                step_name,
                kind=SpanKind.INTERNAL,
                attributes={
                    attributes.SPAN_KIND: attributes.SpanKindValue.STEP,
                    attributes.STEP_NAME: step_name,
                    **({} if redaction.enabled() else {attributes.REDACTION_OFF: True}),
                },
            )
        except Exception:
            report_internal_error("starting a step span")
            return None
        token = otel_context.attach(trace.set_span_in_context(span))
        call = cls(span=span, token=token, pending=None)
        try:
            if content.capture_enabled():
                _set_json(span, attributes.STEP_INPUT, arguments)
            fields = tuple(
                TextField(path=f"args.{key}", text=text)
                for key, value in arguments.items()
                if (text := _text_of(value))
            )
            call.pending = dataflow.on_call_start(span, CallInputs(fields=fields))
        except Exception:
            report_internal_error("recording a step's arguments", span)
        return call


def _finish(
    call: _StepCall | None, *, result: Any = None, error: BaseException | None = None
) -> None:
    """Record the outcome, feed the dataflow detector, end the span; never raises."""
    if call is None:
        return
    span = call.span
    try:
        otel_context.detach(call.token)  # type: ignore[arg-type]
    except Exception:
        report_internal_error("restoring the context after a step", span)
    try:
        if error is not None:
            record_error(span, error)
            dataflow.on_call_end(call.pending, None)
        else:
            if content.capture_enabled():
                _set_json(span, attributes.STEP_OUTPUT, result)
            dataflow.on_call_end(call.pending, CallOutputs(fields=_output_fields(result)))
    except Exception:
        report_internal_error("recording a step's outcome", span)
    try:
        span.end()
    except Exception:
        report_internal_error("ending a step span")


def _signature_of(func: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):  # some builtins and C callables have none
        return None


def _bound_arguments(
    signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Arguments by parameter name, defaults applied; ``self``/``cls`` left out."""
    if signature is None:
        return {**{f"arg{i}": value for i, value in enumerate(args)}, **kwargs}
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:  # the call itself is wrong; the function will raise it to the user
        return {**{f"arg{i}": value for i, value in enumerate(args)}, **kwargs}
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    first = next(iter(signature.parameters), None)
    if first in ("self", "cls"):
        arguments.pop(first, None)
    for parameter in signature.parameters.values():  # flatten **kwargs into named fields
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(arguments.pop(parameter.name, {}))
    return arguments


def _text_of(value: Any) -> str:
    """The text a value contributes to dataflow matching."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return content.to_json(value)


def _output_fields(result: Any) -> tuple[TextField, ...]:
    """``return`` plus one field per key (dict) or element (list/tuple) of the result."""
    fields: list[TextField] = []
    if text := _text_of(result):
        fields.append(TextField(path="return", text=text))
    if isinstance(result, Mapping):
        parts: list[tuple[str, Any]] = [(f"return.{key}", value) for key, value in result.items()]
    elif isinstance(result, Sequence) and not isinstance(result, (str, bytes, bytearray)):
        parts = [(f"return[{index}]", value) for index, value in enumerate(result)]
    else:
        parts = []
    fields.extend(
        TextField(path=path, text=text) for path, value in parts if (text := _text_of(value))
    )
    return tuple(fields)


def _set_json(span: Span, key: str, value: Any) -> None:
    text, truncated = content.bound_json(value)
    span.set_attribute(key, text)
    if truncated:
        span.set_attribute(attributes.CONTENT_TRUNCATED, True)


def _tracer() -> trace.Tracer:
    """The step tracer of the current global provider (re-fetched if the provider changes)."""
    global _tracer_cache
    provider = trace.get_tracer_provider()
    cached = _tracer_cache
    if cached is not None and cached[0] is provider:
        return cached[1]
    tracer = get_tracer(_INSTRUMENTATION_NAME, provider)
    _tracer_cache = (provider, tracer)
    return tracer
