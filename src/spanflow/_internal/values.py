"""Turn user values (params, outputs, metrics) into OpenTelemetry attribute values.

Encoding (the contract documented in ``spanflow.attributes`` and docs/attributes.md):

* params and outputs: ``bool``, ``int``, ``float`` and ``str`` stay native; anything else is
  JSON (``sort_keys``). A value JSON cannot encode is recorded as its ``repr()`` and one
  :class:`~spanflow.SpanflowWarning` names the key. ``None`` is recorded as JSON ``"null"``.
* metrics: anything ``float()`` accepts except strings; NaN and ±inf are dropped with a warning.
"""

from __future__ import annotations

import json
import math
import operator
from typing import Any

from spanflow._internal.warn import warn

AttributeScalar = bool | int | float | str

# Attribute values are bounded by what a backend will keep; repr() of a huge object is cut.
_MAX_REPR_CHARS = 4096


def encode_value(kind: str, key: str, value: Any) -> AttributeScalar:
    """Encode a param or output value; warns (naming ``key``) when it has to stringify."""
    if isinstance(value, bool | int | float | str):
        return value
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)[:_MAX_REPR_CHARS]
        warn(
            f"spanflow: {kind} {key!r} is not JSON-serialisable "
            f"({type(value).__name__}); recorded as its repr()",
            stacklevel=4,
        )
        return text


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
        return operator.index(step)
    except TypeError:
        warn(
            f"spanflow: metric {name!r} step {step!r:.80} is not an integer; recorded without step",
            stacklevel=4,
        )
        return None


def valid_key(kind: str, key: Any) -> str | None:
    """The key as a non-empty string, or ``None`` after a warning."""
    if isinstance(key, str) and key:
        return key
    warn(f"spanflow: {kind} name {key!r} must be a non-empty string; dropped", stacklevel=4)
    return None
