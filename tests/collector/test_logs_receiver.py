"""Run records over OTLP logs: HTTP protobuf/JSON/gzip and gRPC, token, foreign log records."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import requests
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

import spanflow
from spanflow import attributes as attr
from spanflow._internal.otlp_logs import encode_request
from spanflow.query.records import MetricPointValue, RunRecord
from spanflow_collector.index.sqlite import SqliteRunIndexStore
from spanflow_collector.server import Collector

TIMEOUT_S = 30
TOKEN = "s3cret"
RUN_ID = "01LOGS"
T0 = 1_800_000_000_000_000_000
KIND = attr.RecordKindValue
PROTOBUF = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[tuple[Collector, SqliteRunIndexStore]]:
    """A collector with a token over a real SQLite index, HTTP and gRPC on loopback."""
    store = SqliteRunIndexStore(tmp_path / "index.db")
    running = Collector(store, http_port=0, grpc_port=0, token=TOKEN)
    running.start()
    try:
        yield running, store
    finally:
        running.stop()


def _records(record_id: str = "a") -> list[RunRecord]:
    root = {"run_id": RUN_ID, "segment": 0, "trace_id": "1" * 32, "span_id": "2" * 16}
    points = tuple(MetricPointValue("loss", 1.0 / n, n, T0 + n) for n in range(1, 4))
    return [
        RunRecord(
            KIND.START,
            time_unix_nano=T0,
            record_id=f"{record_id}s",
            fields={attr.RUN_NAME: "logged", attr.PROJECT: "logs"},
            **root,
        ),
        RunRecord(
            KIND.PARAMS, time_unix_nano=T0, record_id=f"{record_id}p", values={"lr": 0.1}, **root
        ),
        RunRecord(
            KIND.METRICS, time_unix_nano=T0, record_id=f"{record_id}m", points=points, **root
        ),
    ]


def _post(collector: Collector, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(
        f"{collector.http_url}/v1/logs", data=body, headers=headers, timeout=TIMEOUT_S
    )


def test_protobuf_run_records_are_stored_before_200(
    collector: tuple[Collector, SqliteRunIndexStore],
) -> None:
    """A 200 to /v1/logs means the run is already in the index, with params and points."""
    running, store = collector
    response = _post(running, encode_request(_records(), {"service.name": "x"}), PROTOBUF)
    assert response.status_code == 200
    assert ExportLogsServiceResponse.FromString(response.content).partial_success.ListFields() == []
    run = store.get_run(RUN_ID)
    assert run is not None
    assert (run.name, run.project, run.status, dict(run.params)) == (
        "logged",
        "logs",
        "running",
        {"lr": 0.1},
    )
    assert [p.step for p in store.get_metric_history(RUN_ID)] == [1, 2, 3]


def test_gzip_json_with_a_foreign_log_record_is_acknowledged(
    collector: tuple[Collector, SqliteRunIndexStore],
) -> None:
    """OTLP/JSON, gzipped, with another SDK's log line: run records stored, the line ignored."""
    running, store = collector
    document = {
        "resourceLogs": [
            {
                "scopeLogs": [
                    {
                        "logRecords": [
                            {"timeUnixNano": str(T0), "body": {"stringValue": "hello"}},
                            {
                                "timeUnixNano": str(T0),
                                "eventName": KIND.START,
                                "traceId": "1" * 32,
                                "spanId": "2" * 16,
                                "attributes": [
                                    {"key": attr.RUN_ID, "value": {"stringValue": RUN_ID}},
                                    {"key": attr.RECORD_ID, "value": {"stringValue": "j1"}},
                                    {"key": attr.RUN_NAME, "value": {"stringValue": "json"}},
                                ],
                            },
                            {
                                "timeUnixNano": str(T0 + 1),
                                "eventName": KIND.OUTPUTS,
                                "attributes": [
                                    {"key": attr.RUN_ID, "value": {"stringValue": RUN_ID}},
                                    {"key": attr.RECORD_ID, "value": {"stringValue": "j2"}},
                                ],
                                "body": {
                                    "kvlistValue": {
                                        "values": [
                                            {"key": "answer", "value": {"intValue": "42"}},
                                        ]
                                    }
                                },
                            },
                        ]
                    }
                ]
            }
        ]
    }
    headers = {**PROTOBUF, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    response = _post(running, gzip.compress(json.dumps(document).encode()), headers)
    assert response.status_code == 200, response.text
    assert response.json() == {}
    run = store.get_run(RUN_ID)
    assert run is not None and run.name == "json" and dict(run.outputs) == {"answer": 42}


def test_logs_need_the_token_and_a_known_content_type(
    collector: tuple[Collector, SqliteRunIndexStore],
) -> None:
    """Without the token /v1/logs answers 401; a text body 415; garbage 400; nothing stored."""
    running, store = collector
    body = encode_request(_records(), {})
    assert _post(running, body, {"Content-Type": "application/x-protobuf"}).status_code == 401
    assert _post(running, body, {**PROTOBUF, "Content-Type": "text/plain"}).status_code == 415
    assert _post(running, b"\xff\x00garbage", PROTOBUF).status_code == 400
    assert store.get_run(RUN_ID) is None


def test_an_ill_formed_run_record_is_rejected_alone(
    collector: tuple[Collector, SqliteRunIndexStore],
) -> None:
    """A run record without its record id is counted in partial_success; the others land."""
    running, store = collector
    request = ExportLogsServiceRequest.FromString(encode_request(_records(), {}))
    broken = request.resource_logs[0].scope_logs[0].log_records[1]
    kept = [pair for pair in broken.attributes if pair.key != attr.RECORD_ID]
    del broken.attributes[:]
    broken.attributes.extend(kept)
    response = _post(running, request.SerializeToString(), PROTOBUF)
    assert response.status_code == 200
    parsed = ExportLogsServiceResponse.FromString(response.content)
    assert parsed.partial_success.rejected_log_records == 1
    run = store.get_run(RUN_ID)
    assert run is not None and dict(run.params) == {} and run.name == "logged"


def test_grpc_logs_service_stores_run_records(
    collector: tuple[Collector, SqliteRunIndexStore],
) -> None:
    """LogsService/Export with the token stores the records; a resent request adds nothing."""
    running, store = collector
    request = ExportLogsServiceRequest.FromString(encode_request(_records(), {}))
    metadata = (("authorization", f"Bearer {TOKEN}"),)
    with grpc.insecure_channel(f"127.0.0.1:{running.grpc_port}") as channel:
        stub = LogsServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Export(request, timeout=TIMEOUT_S)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        stub.Export(request, timeout=TIMEOUT_S, metadata=metadata)
        stub.Export(request, timeout=TIMEOUT_S, metadata=metadata)
    assert len(store.get_metric_history(RUN_ID)) == 3


def test_a_read_only_token_cannot_send_run_records(tmp_path: Path) -> None:
    """/v1/logs needs the ingest scope: a read token is refused 403 and nothing is stored."""
    store = SqliteRunIndexStore(tmp_path / "index.db")
    running = Collector(store, http_port=0, grpc_port=None, read_token="reader")
    running.start()
    try:
        headers = {"Content-Type": "application/x-protobuf", "Authorization": "Bearer reader"}
        response = _post(running, encode_request(_records(), {}), headers)
        assert response.status_code == 403
        assert store.get_run(RUN_ID) is None
    finally:
        running.stop()


def test_inputs_artifacts_and_truncation_are_served_by_the_rest_api(
    collector: tuple[Collector, SqliteRunIndexStore],
) -> None:
    """What run records add to a run reaches spanflow.Client over the collector's REST API."""
    running, _ = collector
    root = {"run_id": RUN_ID, "segment": 0, "trace_id": "1" * 32, "span_id": "2" * 16}
    extra = [
        RunRecord(
            KIND.INPUTS, time_unix_nano=T0, record_id="i", values={"question": "why?"}, **root
        ),
        RunRecord(
            KIND.ARTIFACT,
            time_unix_nano=T0,
            record_id="a",
            fields={attr.ARTIFACT_NAME: "out.csv", attr.ARTIFACT_SIZE: 7},
            **root,
        ),
        RunRecord(
            KIND.TRUNCATED,
            time_unix_nano=T0,
            record_id="t",
            fields={attr.RUN_TRUNCATED: ("metric_points",)},
            **root,
        ),
    ]
    body = encode_request([*_records(), *extra], {})
    assert _post(running, body, PROTOBUF).status_code == 200
    with spanflow.Client(running.http_url, token=TOKEN) as client:
        run = client.get_run(RUN_ID)
        history = client.metric_history(RUN_ID)
    assert dict(run.inputs) == {"question": "why?"}
    assert run.artifacts == {"out.csv": {"size": 7, "stored": False}}  # no content sent
    assert run.truncated == ("metric_points",)
    assert [point.step for point in history] == [1, 2, 3]


SECRET = "sk-proj-Pl4nt3dOpenAIProjectKey0123456789abcdefXYZ"


def test_run_records_from_any_sender_are_redacted_at_ingest(
    collector: tuple[Collector, SqliteRunIndexStore],
) -> None:
    """A secret in a foreign sender's run record never reaches the index; opting out keeps it."""
    running, store = collector
    secret_run = {"segment": 0, "trace_id": "3" * 32, "span_id": "4" * 16}
    sent = [
        RunRecord(
            KIND.PARAMS,
            run_id="01SECRET",
            time_unix_nano=T0,
            record_id="s",
            values={"prompt": f"use {SECRET} please", "api_key": "hunter2"},
            **secret_run,
        ),
        RunRecord(
            KIND.OUTPUTS,
            run_id="01OPTOUT",
            time_unix_nano=T0,
            record_id="o",
            values={"raw": SECRET},
            fields={attr.REDACTION_OFF: True},
            **secret_run,
        ),
    ]
    assert _post(running, encode_request(sent, {}), PROTOBUF).status_code == 200
    kept = store.get_run("01SECRET")
    assert kept is not None
    assert SECRET not in str(kept.params) and "hunter2" not in str(kept.params)
    assert "REDACTED" in str(kept.params["prompt"])
    opted_out = store.get_run("01OPTOUT")
    assert opted_out is not None and opted_out.outputs["raw"] == SECRET
