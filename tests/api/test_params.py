"""Query parameters of the run list become a RunQuery; bad ones are named in the error."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from spanflow.query.params import (
    DEFAULT_LIMIT,
    QueryParameterError,
    format_filter_value,
    parse_comparison,
    parse_filter_value,
    parse_run_query,
    parse_time_ns,
)
from spanflow.query.store import RunQuery, ValueFilter


def test_no_parameters_is_the_default_query() -> None:
    """An empty query string lists every run, newest first, one default-sized page."""
    assert parse_run_query([]) == RunQuery(limit=DEFAULT_LIMIT)


def test_every_parameter_lands_in_its_field() -> None:
    """Each documented parameter fills the matching RunQuery field."""
    query = parse_run_query(
        [
            ("project", "evals"),
            ("status", "failed"),
            ("status", "interrupted,running"),
            ("tag", "nightly"),
            ("tag", "gpu"),
            ("q", "sample"),
            ("started_after", "2026-01-02T03:04:05Z"),
            ("started_before", "1767225600"),
            ("parent", "01JPARENT"),
            ("top_level", "true"),
            ("param", "lr>0.01"),
            ("param", "model=gpt-4o"),
            ("metric", "accuracy>=0.9"),
            ("limit", "7"),
            ("cursor", "abc"),
        ]
    )
    assert query == RunQuery(
        project="evals",
        statuses=("failed", "interrupted", "running"),
        tags=("nightly", "gpu"),
        name_contains="sample",
        started_after_ns=int(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc).timestamp())
        * 10**9,
        started_before_ns=1_767_225_600 * 10**9,
        parent_id="01JPARENT",
        top_level_only=True,
        params=(ValueFilter("lr", ">", 0.01), ValueFilter("model", "=", "gpt-4o")),
        metrics=(ValueFilter("accuracy", ">=", 0.9),),
        limit=7,
        cursor="abc",
    )


@pytest.mark.parametrize(
    ("pairs", "parameter"),
    [
        ([("stauts", "failed")], "stauts"),
        ([("status", "done")], "status"),
        ([("limit", "0")], "limit"),
        ([("limit", "501")], "limit"),
        ([("limit", "ten")], "limit"),
        ([("limit", "5"), ("limit", "6")], "limit"),
        ([("started_after", "yesterday")], "started_after"),
        ([("started_before", "1e15")], "started_before"),
        ([("top_level", "maybe")], "top_level"),
        ([("param", "lr")], "param"),
        ([("param", "lr>")], "param"),
        ([("metric", ">0.5")], "metric"),
        ([("metric", 'name="unterminated')], "metric"),
    ],
)
def test_bad_parameters_are_named(pairs: list[tuple[str, str]], parameter: str) -> None:
    """A malformed, unknown or repeated parameter raises an error naming that parameter."""
    with pytest.raises(QueryParameterError) as caught:
        parse_run_query(pairs)
    assert caught.value.parameter == parameter
    assert str(caught.value).startswith(f"{parameter}: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lr>0.01", ValueFilter("lr", ">", 0.01)),
        ("epochs >= 3", ValueFilter("epochs", ">=", 3)),
        ("model==gpt-4o", ValueFilter("model", "=", "gpt-4o")),
        ("model!=gpt-4o", ValueFilter("model", "!=", "gpt-4o")),
        ("shuffle=true", ValueFilter("shuffle", "=", True)),
        ('version="2"', ValueFilter("version", "=", "2")),
        ("loss<1e-3", ValueFilter("loss", "<", 0.001)),
        ("a.b/c<=-2", ValueFilter("a.b/c", "<=", -2)),
    ],
)
def test_comparisons_parse_key_operator_and_typed_value(text: str, expected: ValueFilter) -> None:
    """Numbers, booleans, bare words and quoted strings keep the type a user means."""
    assert parse_comparison("param", text) == expected


@pytest.mark.parametrize(
    "value", [0.01, 3, -2, True, False, "gpt-4o", "2", "true", " x", "", 'a"b']
)
def test_formatted_values_parse_back_to_the_same_value_and_type(value: object) -> None:
    """The client's value formatting round-trips through the server's parsing, type included."""
    text = format_filter_value(value)  # type: ignore[arg-type]
    parsed = parse_comparison("param", f"key={text}").value
    assert parsed == value and type(parsed) is type(value)


def test_plain_text_values_stay_text() -> None:
    """A value that is not a number or boolean is compared as text."""
    assert parse_filter_value("param", "nan") == "nan"
    assert parse_filter_value("param", "gpt-4o-mini") == "gpt-4o-mini"


@pytest.mark.parametrize(
    ("text", "expected_s"),
    [
        ("2026-01-02", 1_767_312_000),
        ("2026-01-02T00:00:00+02:00", 1_767_304_800),
        ("2026-01-02T00:00:00Z", 1_767_312_000),
        ("1767312000", 1_767_312_000),
        ("1767312000.5", 1_767_312_000.5),
    ],
)
def test_times_are_iso_8601_or_unix_seconds(text: str, expected_s: float) -> None:
    """Dates, offsets, Z suffixes and unix seconds all become unix nanoseconds."""
    assert parse_time_ns("started_after", text) == round(expected_s * 1e9)


@pytest.mark.parametrize(
    ("parameter", "text"),
    [("param", "lr>>1"), ("metric", "accuracy=high"), ("param", "shuffle>true")],
)
def test_comparisons_that_cannot_mean_anything_are_rejected(parameter: str, text: str) -> None:
    """`lr>>1` is a typo; metrics compare to numbers; booleans have no order."""
    with pytest.raises(QueryParameterError) as caught:
        parse_comparison(parameter, text)
    assert caught.value.parameter == parameter
