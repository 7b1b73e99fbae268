"""Hostile and broken OTLP input against a real collector process: each value is stored,
normalised (and marked) or its span rejected through partial_success — never a 5xx for data,
and never a poisoned run. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import grpc
import pytest
import requests

from spanflow import attributes as attr
from spanflow.query.records import INT64_MAX
from spanflow_collector.otlp.normalize import MAX_VALUE_DEPTH, TRUNCATED_VALUE
from tests.collector.hostile import (
    JSON,
    PROTOBUF,
    api,
    gzip_members,
    json_body,
    json_span,
    post,
    rejected_spans,
    run_spans_by_id,
    running_collector,
)
from tests.collector.payloads import export_request, make_span
from tests.collector.processes import CollectorProcess

TRACE_SERVICE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def live_collector(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CollectorProcess]:
    """One collector process per store for the module (tests use their own run ids)."""
    if request.param == "sqlite":
        with running_collector(str(tmp_path_factory.mktemp("hostile") / "index.db")) as running:
            yield running
        return
    url: str = request.getfixturevalue("postgres_url")
    import psycopg  # after postgres_url: it skips (or fails in CI) without the extra

    schema = f"h_{uuid.uuid4().hex}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in url else "?"
    try:
        with running_collector(f"{url}{separator}options=-csearch_path%3D{schema}") as running:
            yield running
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _run_id() -> str:
    return f"run-{uuid.uuid4().hex}"


def _trace() -> int:
    """A trace number no other test of the module uses (span ids repeat across traces)."""
    return uuid.uuid4().int % 2**64 + 1


def _root(run_id: str) -> dict[str, object]:
    return json_span(
        run_id=run_id,
        attributes={attr.SPAN_KIND: attr.SpanKindValue.RUN, attr.RUN_NAME: "victim"},
        kind=1,
    )


def _adjustments(span: dict[str, object]) -> list[str]:
    attributes = span["attributes"]
    assert isinstance(attributes, dict)
    return list(attributes.get(attr.INGEST_ADJUSTMENTS, []))


def test_huge_token_count_does_not_poison_its_run(live_collector: CollectorProcess) -> None:
    """A span claiming 2**63-5 input tokens loses that count (marked), and later requests
    holding spans of the same run, and of other runs, are stored; the run completes."""
    victim, bystander = _run_id(), _run_id()
    poison = json_span(run_id=victim, attributes={attr.GEN_AI_USAGE_INPUT_TOKENS: 2**63 - 5})
    assert rejected_spans(post(live_collector, json_body(poison))) == 0
    normal = json_span(run_id=victim, attributes={attr.GEN_AI_USAGE_INPUT_TOKENS: 10})
    unrelated = json_span(run_id=bystander)
    assert rejected_spans(post(live_collector, json_body(normal, unrelated))) == 0
    assert rejected_spans(post(live_collector, json_body(_root(victim)))) == 0

    run = api(live_collector, f"/runs/{victim}").json()["run"]
    assert run["status"] == "completed"
    assert run["input_tokens"] == 10
    assert api(live_collector, f"/runs/{bystander}").status_code == 200
    stored = run_spans_by_id(live_collector, victim)[poison["spanId"]]
    assert attr.GEN_AI_USAGE_INPUT_TOKENS not in stored["attributes"]
    assert any(attr.GEN_AI_USAGE_INPUT_TOKENS in note for note in _adjustments(stored))


def test_timestamps_beyond_int64_are_clamped(live_collector: CollectorProcess) -> None:
    """fixed64 timestamps up to 2**64-1 are valid OTLP: stored clamped to 2**63-1, marked."""
    run_id = _run_id()
    span = make_span(1, trace=_trace(), attributes={attr.RUN_ID: run_id}, end_ns=2**64 - 1)
    event = span.events.add()
    event.name = "late"
    event.time_unix_nano = 2**64 - 1
    response = post(live_collector, export_request([span]).SerializeToString(), PROTOBUF)
    assert response.status_code == 200
    (stored,) = run_spans_by_id(live_collector, run_id).values()
    assert stored["end_time_unix_nano"] == INT64_MAX
    assert stored["events"][0]["time_unix_nano"] == INT64_MAX
    assert any("end_time_unix_nano" in note for note in _adjustments(stored))


def test_json_numbers_out_of_range_are_normalised(live_collector: CollectorProcess) -> None:
    """OTLP/JSON 1e30 timestamps, kind 2**70, status code 2**70 and an intValue beyond int64
    are stored clamped, as 0 or dropped — each noted on the span."""
    run_id = _run_id()
    span = json_span(
        run_id=run_id,
        startTimeUnixNano=1e30,
        endTimeUnixNano="1e30",
        kind=2**70,
        status={"code": 2**70, "message": "odd"},
        raw_attributes=[{"key": "huge", "value": {"intValue": str(2**70)}}],
        attributes={"fine": 1e30},
    )
    assert rejected_spans(post(live_collector, json_body(span))) == 0
    (stored,) = run_spans_by_id(live_collector, run_id).values()
    assert stored["start_time_unix_nano"] == stored["end_time_unix_nano"] == INT64_MAX
    assert stored["kind"] == 0 and stored["status_code"] == 0
    assert "huge" not in stored["attributes"] and stored["attributes"]["fine"] == 1e30
    notes = " ".join(_adjustments(stored))
    assert "kind" in notes and "status.code" in notes and "huge" in notes


def test_lone_surrogates_become_replacement_characters(live_collector: CollectorProcess) -> None:
    """ "\\ud800" escapes in names, keys, values and the run id are stored as U+FFFD."""
    run_id = _run_id()
    body = json_body(json_span(run_id=f"{run_id}-\ud800", attributes={"k\udc00": "v\ud800"}))
    raw = json.dumps(json.loads(body)).encode()  # json escapes the surrogates as \ud800
    assert b"\\ud800" in raw
    assert rejected_spans(post(live_collector, raw)) == 0
    (stored,) = run_spans_by_id(live_collector, f"{run_id}-\ufffd").values()
    assert stored["attributes"]["k\ufffd"] == "v\ufffd"


def test_nan_and_infinity_in_spanflow_numbers(live_collector: CollectorProcess) -> None:
    """NaN/Infinity token counts, heartbeat interval, segment and metric point are dropped
    (marked); the run, its other metric points and its summary still work."""
    run_id = _run_id()
    marker = json_span(
        run_id=run_id,
        raw_attributes=[
            {"key": attr.RUN_HEARTBEAT_INTERVAL_S, "value": {"doubleValue": "Infinity"}},
            {"key": attr.RUN_SEGMENT, "value": {"doubleValue": "NaN"}},
            {"key": attr.GEN_AI_USAGE_OUTPUT_TOKENS, "value": {"doubleValue": "-Infinity"}},
            {"key": attr.GEN_AI_USAGE_INPUT_TOKENS, "value": {"doubleValue": "NaN"}},
        ],
        attributes={attr.SPAN_KIND: attr.SpanKindValue.RUN_START},
        events=[
            {
                "name": attr.EVENT_METRIC,
                "timeUnixNano": "1",
                "attributes": [
                    {"key": attr.EVENT_METRIC_NAME, "value": {"stringValue": "loss"}},
                    {"key": attr.EVENT_METRIC_VALUE, "value": {"doubleValue": value}},
                    {"key": attr.EVENT_METRIC_STEP, "value": {"doubleValue": step}},
                ],
            }
            for value, step in (("NaN", 1), (0.5, "Infinity"), ("Infinity", 2))
        ],
    )
    assert rejected_spans(post(live_collector, json_body(marker, _root(run_id)))) == 0
    detail = api(live_collector, f"/runs/{run_id}").json()
    assert detail["run"]["status"] == "completed"
    assert detail["run"]["input_tokens"] == 0
    history = detail["metric_history"]
    assert [(point["value"], point["step"]) for point in history] == [(0.5, None), ("Infinity", 2)]
    notes = " ".join(_adjustments(run_spans_by_id(live_collector, run_id)[marker["spanId"]]))
    for key in (attr.RUN_HEARTBEAT_INTERVAL_S, attr.RUN_SEGMENT, attr.EVENT_METRIC_VALUE):
        assert key in notes


def test_nul_in_a_run_id(live_collector: CollectorProcess) -> None:
    """A NUL in a run id (and elsewhere) is stored as U+FFFD on both stores, readable there."""
    run_id = _run_id()
    span = make_span(
        1, trace=_trace(), attributes={attr.RUN_ID: f"{run_id}\x00x", "note": "a\x00b"}
    )
    response = post(live_collector, export_request([span]).SerializeToString(), PROTOBUF)
    assert response.status_code == 200
    (stored,) = run_spans_by_id(live_collector, f"{run_id}\ufffdx").values()
    assert stored["attributes"]["note"] == "a\ufffdb"


def test_multi_member_gzip_body_is_read_whole(live_collector: CollectorProcess) -> None:
    """A gzip body of several members (cat a.gz b.gz) stores the spans of every member."""
    run_id = _run_id()
    spans = [json_span(run_id=run_id) for _ in range(30)]
    body = gzip_members(json_body(*spans), 3)
    assert rejected_spans(post(live_collector, body, JSON, encoding="gzip")) == 0
    assert set(run_spans_by_id(live_collector, run_id)) == {span["spanId"] for span in spans}


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_deeply_nested_attribute_is_cut_not_rejected(
    live_collector: CollectorProcess, encoding: str
) -> None:
    """An attribute nested 48 levels deep is cut at the depth limit with a marker; the span, its
    other attributes and the rest of the request are stored."""
    run_id = _run_id()
    deep: object = "bottom"
    for _ in range(48):
        deep = [deep]
    if encoding == "protobuf":
        from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

        value = AnyValue(string_value="bottom")
        for _ in range(48):
            outer = AnyValue()
            outer.array_value.values.append(value)
            value = outer
        trace = _trace()
        span = make_span(1, trace=trace, attributes={attr.RUN_ID: run_id})
        span.attributes.append(KeyValue(key="deep", value=value))
        other = make_span(2, trace=trace, attributes={attr.RUN_ID: run_id})
        request = export_request([span, other])
        response = post(live_collector, request.SerializeToString(deterministic=True), PROTOBUF)
        assert response.status_code == 200, response.content
    else:
        span_doc = json_span(run_id=run_id, attributes={"deep": deep, "flat": "kept"})
        body = json_body(span_doc, json_span(run_id=run_id))
        assert rejected_spans(post(live_collector, body)) == 0
    stored = run_spans_by_id(live_collector, run_id)
    assert len(stored) == 2
    (cut,) = [span for span in stored.values() if "deep" in span["attributes"]]
    value = json.loads(cut["attributes"]["deep"])
    for _ in range(MAX_VALUE_DEPTH + 1):  # the attribute's own array, then 24 levels inside
        (value,) = value
    assert value == TRUNCATED_VALUE
    assert any("deep" in note for note in _adjustments(cut))


def test_grpc_malformed_message_is_invalid_argument(live_collector: CollectorProcess) -> None:
    """A malformed protobuf over gRPC is INVALID_ARGUMENT with the reason, and the collector
    keeps serving."""
    with grpc.insecure_channel(live_collector.grpc_address) as channel:
        export = channel.unary_unary(TRACE_SERVICE_EXPORT)
        with pytest.raises(grpc.RpcError) as raised:
            export(b"\x0a\xff\xff\xff\xff\x0f", timeout=30)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "invalid OTLP protobuf" in (raised.value.details() or "")
        fine = export(
            export_request([make_span(3, trace=_trace())]).SerializeToString(), timeout=30
        )
        assert fine == b""


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/runs", {"cursor": "!!!not-a-cursor"}, "cursor"),
        ("/runs", {"cursor": "WzEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzLCJ4Il0"}, "cursor"),  # > int64
        ("/runs", {"started_after": "1e12"}, "started_after"),
        ("/runs", {"started_after": "-5"}, "started_after"),
        ("/runs", {"started_before": "9999-01-01T00:00:00"}, "started_before"),
        ("/runs", {"started_before": "1900-01-01"}, "started_before"),
        ("/runs", {"limit": "0"}, "limit"),
        ("/runs", {"limit": "9" * 30}, "limit"),
        ("/runs", {"param": [f"p{n}=1" for n in range(51)]}, "param"),
        ("/runs", {"metric": ["m>1"] * 60}, "metric"),
        ("/runs", {"tag": [f"t{n}" for n in range(60)]}, "tag"),
        ("/runs", {"param": f"x={'9' * 30}"}, "param"),
        ("/runs", {"sort": "name"}, "sort"),
    ],
)
def test_out_of_range_query_parameters_are_400(
    live_collector: CollectorProcess, path: str, params: dict[str, object], parameter: str
) -> None:
    """Out-of-range query parameters are answered 400 naming the parameter, never 500."""
    response = api(live_collector, path, **params)
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == parameter


def test_two_thousand_filters_are_a_4xx(live_collector: CollectorProcess) -> None:
    """2,000 param filters (the issue's case) are refused before the index sees them: by the
    16 KiB request-line limit, else by the 50-filter cap — never a 500."""
    response = api(live_collector, "/runs", param=[f"p{n}=1" for n in range(2000)])
    assert response.status_code in (400, 431), response.text


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"cursor": "garbage"}, "cursor"),
        ({"cursor": "WzEsMiwzXQ"}, "cursor"),  # [1,2,3]: wrong types
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
@pytest.mark.parametrize("leaf", ["spans", "tree"])
def test_out_of_range_span_page_parameters_are_400(
    live_collector: CollectorProcess, leaf: str, params: dict[str, str], parameter: str
) -> None:
    """Span list and tree pages refuse bad cursors and limits with 400 naming the parameter."""
    run_id = _run_id()
    assert rejected_spans(post(live_collector, json_body(json_span(run_id=run_id)))) == 0
    response = api(live_collector, f"/runs/{run_id}/{leaf}", **params)
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == parameter


def test_collector_still_serves_after_everything(live_collector: CollectorProcess) -> None:
    """After the hostile requests above, the same process still takes and serves spans."""
    run_id = _run_id()
    assert rejected_spans(post(live_collector, json_body(json_span(run_id=run_id)))) == 0
    assert len(run_spans_by_id(live_collector, run_id)) == 1
    assert live_collector.process.poll() is None
    with pytest.raises(requests.HTTPError):
        api(live_collector, "/runs/no-such-run").raise_for_status()
