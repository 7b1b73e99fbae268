"""The SDK's redaction switch: which redactor applies to a value about to be recorded.

Precedence: ``run(..., redact=...)`` (carried in the OpenTelemetry context, so subruns, LLM calls
and steps inside the run follow it) over the settings (``configure(redact=...,
redact_patterns=...)`` over ``SPANFLOW_REDACT`` / ``SPANFLOW_REDACT_PATTERNS``); on by default.
Where the run's context is not at hand (a handle used from an unrelated thread, the exit hook)
the process-wide setting applies, so a doubt ends redacted. See docs/secrets.md.
"""

from __future__ import annotations

import functools
import traceback
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.trace import Span

from spanflow._internal import settings
from spanflow._internal.warn import logger
from spanflow.redaction import DEFAULT_REDACTOR, Redactor

_RUN_REDACT_KEY = otel_context.create_key("spanflow-redact")
# Re-sent chat histories repeat the same message texts call after call; texts up to this size
# are remembered (per redactor) so each is scanned once.
_CACHED_TEXT_MAX_CHARS = 8192

_configured: tuple[bool, Redactor] | None = None


def use(*, enabled: bool, redactor: Redactor) -> None:
    """Set the process-wide switch and redactor (``configure()`` does, from its settings)."""
    global _configured
    _configured = (enabled, redactor)


def _process_setting() -> tuple[bool, Redactor]:
    global _configured
    setting = _configured
    if setting is not None:
        return setting
    chosen = settings.current()
    try:
        redactor = Redactor(chosen.redact_patterns)
    except ValueError as exc:  # a compiled pattern the redactor cannot use; configure() raises
        logger.warning("spanflow: redact_patterns: %s; only the built-in rules apply", exc)
        redactor = DEFAULT_REDACTOR
    _configured = setting = (chosen.redact, redactor)
    return setting


def enabled(explicit: bool | None = None) -> bool:
    """Whether values recorded here are redacted: ``explicit``, else the run's, else global."""
    if explicit is not None:
        return explicit
    in_run = otel_context.get_value(_RUN_REDACT_KEY)
    if isinstance(in_run, bool):
        return in_run
    return _process_setting()[0]


def with_run_switch(context: otel_context.Context, redact: bool) -> otel_context.Context:
    """``context`` carrying a run's own switch, for everything recorded inside the run."""
    return otel_context.set_value(_RUN_REDACT_KEY, redact, context)


def active_redactor(explicit: bool | None = None) -> Redactor | None:
    """The redactor to use here, or ``None`` when redaction is off."""
    return _process_setting()[1] if enabled(explicit) else None


def text(value: str, *, redact: bool | None = None) -> str:
    """``value`` with its secrets replaced (unchanged when redaction is off)."""
    redactor = active_redactor(redact)
    return value if redactor is None else redactor.text(value)


def cached_text(value: str, redactor: Redactor | None) -> str:
    """``redactor.text(value)`` remembered: for message texts re-sent on every call.

    The caller looks up ``active_redactor()`` once for all its texts (``None``: unchanged).
    """
    if redactor is None:
        return value
    if len(value) > _CACHED_TEXT_MAX_CHARS:
        return redactor.text(value)
    return _cached(redactor, value)


@functools.lru_cache(maxsize=256)
def _cached(redactor: Redactor, value: str) -> str:
    return redactor.text(value)


def value(name: str, recorded: Any, *, redact: bool | None = None) -> Any:
    """An attribute value recorded under ``name`` (a secret name hides it whole)."""
    redactor = active_redactor(redact)
    return recorded if redactor is None else redactor.value(name, recorded)


def error_text(error: BaseException, *, redact: bool | None = None) -> str:
    """``str(error)`` with its secrets replaced."""
    try:
        message = str(error)
    except Exception:  # a broken __str__ must not break the recording of the failure
        message = f"<unprintable {type(error).__qualname__}>"
    return text(message, redact=redact)


def record_exception(
    span: Span, error: BaseException, *, escaped: bool = False, timestamp: int | None = None
) -> None:
    """``span.record_exception`` with the message and the stack trace redacted.

    The stack trace matters as much as the message: it quotes source lines, such as the one
    that built a client with a literal key.
    """
    stacktrace = "".join(traceback.format_exception(error))
    span.record_exception(
        error,
        attributes={
            "exception.message": error_text(error),
            "exception.stacktrace": text(stacktrace),
        },
        timestamp=timestamp,
        escaped=escaped,
    )
