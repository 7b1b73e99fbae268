"""Turn user values (params, outputs, metrics) into OpenTelemetry attribute values.

Encoding (the contract documented in ``spanflow.attributes`` and docs/attributes.md):

* params and outputs: ``bool``, ``int``, ``float`` and ``str`` stay native; anything else is
  JSON (``sort_keys``). A value JSON cannot encode is recorded as its ``repr()`` and one
  :class:`~spanflow.SpanflowWarning` names the key. ``None`` is recorded as JSON ``"null"``.
* metrics: anything ``float()`` accepts except strings; NaN and ±inf are dropped with a warning.

Every value and name leaves here with its secrets redacted (docs/secrets.md), so whichever
carrier records it (span attribute, event, log record) holds ``[REDACTED:<kind>]`` instead.
``redact=None`` follows the current run's switch, else the process-wide one.
"""

from __future__ import annotations

import json
import math
import operator
from typing import Any

from spanflow._internal import redact as redaction
from spanflow._internal.warn import warn

AttributeScalar = bool | int | float | str

# Attribute values are bounded by what a backend will keep; repr() of a huge object is cut.
_MAX_REPR_CHARS = 4096
# OTLP and both index stores hold int64; a larger int would fail the whole export batch.
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def encode_value(kind: str, key: str, value: Any, *, redact: bool | None = None) -> AttributeScalar:
    """Encode a param or output value; warns (naming ``key``) when it has to stringify.

    Secrets are redacted: the whole value under a secret-looking ``key`` (``api_key``), else
    each credential found in the text (nested JSON ``"password": "..."`` included).
    """
    encoded: AttributeScalar
    if isinstance(value, int) and not isinstance(value, bool) and not _fits_int64(value):
        encoded = str(value)  # exact, as decimal text
        warn(
            f"spanflow: {kind} {key!r} is an integer outside int64; recorded as text",
            stacklevel=4,
        )
    elif isinstance(value, bool | int | float | str):
        encoded = value
    else:
        try:
            encoded = json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=True)
        except (TypeError, ValueError, RecursionError):
            encoded = repr(value)[:_MAX_REPR_CHARS]
            warn(
                f"spanflow: {kind} {key!r} is not JSON-serialisable "
                f"({type(value).__name__}); recorded as its repr()",
                stacklevel=4,
            )
    redacted: AttributeScalar = redaction.value(key, encoded, redact=redact)
    return redacted


def clean_text(text: str, *, redact: bool | None = None) -> str:
    """A user-supplied name (run name, project, tag) with its secrets redacted."""
    return redaction.text(text, redact=redact)


def metric_value(name: str, value: Any) -> float | None:
    """The metric as a finite float, or ``None`` (after a warning naming it) when it is not."""
    number: float | None
    if isinstance(value, str | bytes):
        number = None
    else:
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            number = None
    if number is None:
        warn(
            f"spanflow: metric {name!r} value {value!r:.80} is not a number; dropped",
            stacklevel=4,
        )
        return None
    if not math.isfinite(number):
        warn(f"spanflow: metric {name!r} value {number} is not finite; dropped", stacklevel=4)
        return None
    return number


def metric_step(name: str, step: Any) -> int | None:
    """The step as an int; a non-integer step is warned about and left out of the point."""
    if step is None:
        return None
    try:
        index = operator.index(step)
    except TypeError:
        warn(
            f"spanflow: metric {name!r} step {step!r:.80} is not an integer; recorded without step",
            stacklevel=4,
        )
        return None
    if not _fits_int64(index):
        warn(
            f"spanflow: metric {name!r} step {index} is outside int64; recorded without step",
            stacklevel=4,
        )
        return None
    return index


def _fits_int64(number: int) -> bool:
    return _INT64_MIN <= number <= _INT64_MAX


def valid_key(kind: str, key: Any) -> str | None:
    """The key as a non-empty string (secrets in it redacted), or ``None`` after a warning."""
    if isinstance(key, str) and key:
        return redaction.text(key)
    warn(f"spanflow: {kind} name {key!r} must be a non-empty string; dropped", stacklevel=4)
    return None
