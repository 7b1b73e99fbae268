"""Query parameters of ``GET /api/v1/runs`` parsed into a ``RunQuery``; errors name the bad one.

The same parser serves the REST API and the embedded Python client, so both accept exactly the
same filters. It needs nothing beyond the standard library.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import get_args

from spanflow.attributes import RunStatus
from spanflow.query.records import AttributeValue
from spanflow.query.store import ComparisonOp, RunQuery, ValueFilter

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
DEFAULT_SPAN_LIMIT = 200
"""Spans per page of ``/runs/{id}/spans`` and ``/runs/{id}/tree`` when ``limit`` is not given."""
MAX_SPAN_LIMIT = 1000
MAX_VALUE_FILTERS = 50
"""Most ``param`` + ``metric`` + ``attr`` filters one query may combine (each a subquery)."""
MAX_TAG_FILTERS = 50
_INT64_MAX = 2**63 - 1
_LATEST_UNIX_SECONDS = _INT64_MAX / 1e9  # 2262-04-11: the index stores int64 nanoseconds

RUN_STATUSES: tuple[str, ...] = tuple(RunStatus)

LIST_PARAMETERS: tuple[str, ...] = (
    "project",
    "status",
    "tag",
    "q",
    "started_after",
    "started_before",
    "parent",
    "top_level",
    "param",
    "metric",
    "attr",
    "limit",
    "cursor",
)
"""Every query parameter ``GET /api/v1/runs`` understands."""

_OPERATORS: tuple[str, ...] = tuple(get_args(ComparisonOp))
# Longest first so that ``>=`` is not read as ``>`` followed by ``=value``.
_COMPARISON = re.compile(
    r"^\s*(?P<key>[^<>=!\s]+)\s*(?P<op>>=|<=|!=|==|=|>|<)\s*(?P<value>.*?)\s*$"
)


class QueryParameterError(ValueError):
    """A query parameter that cannot be understood; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


def parse_run_query(
    pairs: Iterable[tuple[str, str]], *, allowed: Iterable[str] = LIST_PARAMETERS
) -> RunQuery:
    """Build a ``RunQuery`` from query-string pairs (repeated keys allowed).

    Args:
        pairs: ``(name, value)`` pairs in request order, e.g. from ``request.query_params``.
        allowed: parameter names accepted; any other name is an error (it is likely a typo).

    Raises:
        QueryParameterError: a parameter is unknown, repeated where it cannot be, or malformed.
    """
    allowed_names = set(allowed)
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        if name not in allowed_names:
            expected = ", ".join(sorted(allowed_names))
            raise QueryParameterError(name, f"unknown query parameter (expected one of {expected})")
        values.setdefault(name, []).append(value)

    def single(name: str) -> str | None:
        given = values.get(name)
        if not given:
            return None
        if len(given) > 1:
            raise QueryParameterError(name, "given more than once")
        return given[0]

    def optional_text(name: str) -> str | None:
        text = single(name)
        return text if text else None

    tags = tuple(tag for tag in values.get("tag", ()) if tag)
    if len(tags) > MAX_TAG_FILTERS:
        raise QueryParameterError("tag", f"at most {MAX_TAG_FILTERS} tags, got {len(tags)}")
    kinds = ("param", "metric", "attr")
    filter_count = sum(len(values.get(kind, ())) for kind in kinds)
    if filter_count > MAX_VALUE_FILTERS:
        name = next(kind for kind in kinds if values.get(kind))
        raise QueryParameterError(
            name, f"at most {MAX_VALUE_FILTERS} param, metric and attr filters, got {filter_count}"
        )
    limit_text = single("limit")
    top_level_text = single("top_level")
    started_after = single("started_after")
    started_before = single("started_before")
    return RunQuery(
        project=optional_text("project"),
        statuses=parse_statuses(values.get("status", ())),
        tags=tags,
        name_contains=optional_text("q"),
        started_after_ns=parse_time_ns("started_after", started_after) if started_after else None,
        started_before_ns=(
            parse_time_ns("started_before", started_before) if started_before else None
        ),
        parent_id=optional_text("parent"),
        top_level_only=parse_bool("top_level", top_level_text) if top_level_text else False,
        params=tuple(parse_comparison("param", text) for text in values.get("param", ())),
        metrics=tuple(parse_comparison("metric", text) for text in values.get("metric", ())),
        attributes=tuple(parse_comparison("attr", text) for text in values.get("attr", ())),
        limit=parse_limit(limit_text) if limit_text else DEFAULT_LIMIT,
        cursor=optional_text("cursor"),
    )


def parse_statuses(texts: Iterable[str]) -> tuple[str, ...]:
    """Status words from repeated and/or comma-separated values, validated."""
    statuses: list[str] = []
    for text in texts:
        for word in text.split(","):
            status = word.strip().lower()
            if not status:
                continue
            if status not in RUN_STATUSES:
                raise QueryParameterError(
                    "status", f"unknown status {word.strip()!r} (one of {', '.join(RUN_STATUSES)})"
                )
            if status not in statuses:
                statuses.append(status)
    return tuple(statuses)


def parse_comparison(parameter: str, text: str) -> ValueFilter:
    """``lr>0.01``, ``model=gpt-4o``, ``name="0.5"`` into a ``ValueFilter``.

    The value is a JSON string when double-quoted, ``true``/``false`` as booleans, a number when
    it reads as one, and plain text otherwise. ``==`` is accepted for ``=``.
    """
    match = _COMPARISON.match(text)
    if not match or not match.group("value"):
        raise QueryParameterError(
            parameter, f"expected KEY OP VALUE with OP one of {' '.join(_OPERATORS)}, got {text!r}"
        )
    op = "=" if match.group("op") == "==" else match.group("op")
    if match.group("value")[0] in "<>=!":
        raise QueryParameterError(
            parameter, f"{text!r} has two operators; double-quote text that starts with one"
        )
    value = parse_filter_value(parameter, match.group("value"))
    if parameter == "metric" and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise QueryParameterError(parameter, f"metric values are numbers, got {text!r}")
    if isinstance(value, bool) and op not in ("=", "!="):
        raise QueryParameterError(parameter, f"booleans compare with = or != only: {text!r}")
    return ValueFilter(key=match.group("key"), op=op, value=value)  # type: ignore[arg-type]


def parse_filter_value(parameter: str, text: str) -> AttributeValue:
    """The typed value on the right of a comparison (see ``parse_comparison``)."""
    if text.startswith('"'):
        try:
            decoded = json.loads(text)
        except ValueError:
            raise QueryParameterError(parameter, f"bad quoted value {text}") from None
        if not isinstance(decoded, str):
            raise QueryParameterError(parameter, f"bad quoted value {text}")
        return decoded
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        integer = int(text)
    except ValueError:
        pass
    else:
        if abs(integer) > _INT64_MAX:
            raise QueryParameterError(parameter, f"{text[:40]!r} is outside the 64-bit range")
        return integer
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def format_filter_value(value: AttributeValue) -> str:
    """The inverse of ``parse_filter_value``: text that parses back to ``value``, type and all."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        plain = bool(value) and value == value.strip() and not value.startswith('"')
        if plain and parse_filter_value("value", value) == value:
            return value
        return json.dumps(value)
    raise TypeError(f"filter values are str, bool, int or float, not {type(value).__name__}")


def parse_time_ns(parameter: str, text: str) -> int:
    """ISO 8601 (naive means UTC) or unix seconds into unix nanoseconds, 1970 to 2262.

    The index stores times as int64 nanoseconds since 1970, so nothing outside that range can
    match; such a time is a mistake (milliseconds given as seconds, a typo) and is refused.
    """
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or not 0 <= seconds <= _LATEST_UNIX_SECONDS:
            raise QueryParameterError(
                parameter, f"{text[:40]!r} is not a time in unix seconds between 1970 and 2262"
            )
        return min(round(seconds * 1e9), _INT64_MAX)
    iso = text.strip()
    if iso.endswith(("Z", "z")):  # fromisoformat accepts a trailing Z only from Python 3.11
        iso = iso[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise QueryParameterError(
            parameter, f"{text!r} is neither ISO 8601 nor unix seconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    nanoseconds = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    if not 0 <= nanoseconds <= _INT64_MAX:
        raise QueryParameterError(parameter, f"{text[:40]!r} is not between 1970 and 2262")
    return nanoseconds


def parse_bool(parameter: str, text: str) -> bool:
    """``true``/``false`` (also ``1``/``0``, ``yes``/``no``)."""
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise QueryParameterError(parameter, f"expected true or false, got {text!r}")


def parse_limit(text: str, *, maximum: int = MAX_LIMIT) -> int:
    """A page size between 1 and ``maximum``."""
    try:
        limit = int(text)
    except ValueError:
        raise QueryParameterError("limit", f"expected an integer, got {text[:40]!r}") from None
    if not 1 <= limit <= maximum:
        raise QueryParameterError("limit", f"must be between 1 and {maximum}, got {limit}")
    return limit


def parse_span_page(limit_text: str | None, cursor_text: str | None) -> tuple[int, str | None]:
    """``limit`` (default ``DEFAULT_SPAN_LIMIT``, at most ``MAX_SPAN_LIMIT``) and ``cursor``
    of a span page request; the cursor itself is checked by the store."""
    limit = parse_limit(limit_text, maximum=MAX_SPAN_LIMIT) if limit_text else DEFAULT_SPAN_LIMIT
    return limit, cursor_text or None
