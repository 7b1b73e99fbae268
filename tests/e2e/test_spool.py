"""The on-disk spool: crash-safe files, one delivery per file across processes, the CLI."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from tests.collector.processes import run_spans, span_hex
from tests.environments import child_environment

from spanflow import attributes as attr
from spanflow._internal.otlp_logs import encode_request
from spanflow._internal.otlp_send import LOGS, TRACES
from spanflow._internal.spool import Spool, SpooledRequest
from spanflow.query.records import RunRecord
from spanflow.testing import OTLPReceiver

TIMEOUT_S = 120


def spool_requests(spool: Spool, endpoint: str, requests: int, spans_each: int) -> None:
    """``requests`` spooled export requests of distinct spans for ``endpoint``."""
    for n in range(requests):
        body = run_spans("spooled-run", n * spans_each, spans_each, trace=n)
        spool.put(SpooledRequest(endpoint, "http/protobuf", TRACES, spans_each, body))


def spool_cli(spool_dir: Path, *arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "spanflow.cli", "spool", *arguments],
        env=child_environment(SPANFLOW_SPOOL_DIR=str(spool_dir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_several_processes_flushing_one_spool_deliver_each_request_once(tmp_path: Path) -> None:
    """Three ``spanflow spool flush`` processes at once: every span arrives exactly once."""
    spool = Spool(tmp_path / "spool", 10**9)
    with OTLPReceiver() as receiver:
        spool_requests(spool, receiver.traces_url, requests=60, spans_each=5)
        flushers = [spool_cli(spool.root, "flush") for _ in range(3)]
        for flusher in flushers:
            flusher.communicate(timeout=TIMEOUT_S)
            assert flusher.returncode == 0
        counts = Counter(span.span_id for span in receiver.spans())
    assert set(counts) == {span_hex(n) for n in range(300)}
    assert set(counts.values()) == {1}
    assert spool.pending("http/protobuf", receiver.traces_url) == []


def test_a_torn_spool_file_is_skipped_with_a_warning_and_the_rest_delivered(
    tmp_path: Path,
) -> None:
    """A cut-short file never stops delivery: the CLI warns, keeps it aside, sends the others."""
    spool = Spool(tmp_path / "spool", 10**9)
    with OTLPReceiver() as receiver:
        spool_requests(spool, receiver.traces_url, requests=3, spans_each=2)
        first = spool.pending("http/protobuf", receiver.traces_url)[0]
        first.write_bytes(first.read_bytes()[:-7])  # as if the disk lost the tail
        out, errors = spool_cli(spool.root, "flush").communicate(timeout=TIMEOUT_S)
        delivered = {span.span_id for span in receiver.spans()}
    assert "damaged spool file" in errors
    assert delivered == {span_hex(n) for n in range(2, 6)}
    assert first.with_suffix(".bad").exists()
    assert "delivered 4 items in 2 requests" in out


def test_spool_status_names_each_endpoint_and_what_waits_for_it(tmp_path: Path) -> None:
    """``spanflow spool status`` lists the endpoint, the signal and the count of items."""
    spool = Spool(tmp_path / "spool", 10**9)
    spool_requests(spool, "http://127.0.0.1:9/v1/traces", requests=2, spans_each=3)
    out, _ = spool_cli(spool.root, "status").communicate(timeout=TIMEOUT_S)
    assert "http/protobuf http://127.0.0.1:9/v1/traces  traces: 6 items in 2 requests" in out


def test_flush_leaves_requests_for_an_unreachable_endpoint_and_says_so(tmp_path: Path) -> None:
    """``spanflow spool flush`` with the endpoint still down exits 1 and keeps every file."""
    spool = Spool(tmp_path / "spool", 10**9)
    spool_requests(spool, "http://127.0.0.1:9/v1/traces", requests=2, spans_each=3)
    flusher = spool_cli(spool.root, "flush")
    out, errors = flusher.communicate(timeout=TIMEOUT_S)
    assert flusher.returncode == 1
    assert "connection refused" in errors
    assert "2 requests still waiting" in out
    assert len(spool.pending("http/protobuf", "http://127.0.0.1:9/v1/traces")) == 2


def test_past_its_bound_the_spool_drops_the_oldest_files_and_counts_their_spans(
    tmp_path: Path,
) -> None:
    """A spool over its byte bound deletes its oldest files first and reports their spans."""
    body = run_spans("r", 0, 10, trace=1)
    spool = Spool(tmp_path / "spool", max_bytes=3 * len(body) + 600)
    request = SpooledRequest("http://127.0.0.1:9/v1/traces", "http/protobuf", TRACES, 10, body)
    paths = [spool.put(request) for _ in range(5)]
    assert [dropped for _, dropped in paths] == [0, 0, 0, 10, 10]
    remaining = spool.pending("http/protobuf", "http://127.0.0.1:9/v1/traces")
    assert remaining == [path for path, _ in paths[2:]]


def test_grpc_without_grpcio_is_a_configuration_error_naming_the_install() -> None:
    """``protocol="grpc"`` without grpcio fails at configure time and says what to install."""
    script = (
        "import sys; sys.modules['grpc'] = None\n"
        "import spanflow\n"
        "try:\n"
        "    spanflow.configure(endpoint='http://127.0.0.1:4317', protocol='grpc')\n"
        "except spanflow.ConfigurationError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=child_environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert "pip install 'spanflow[grpc]'" in done.stdout, done.stderr


@pytest.mark.parametrize("protocol", ["http/json", "grpc"])
def test_configure_takes_the_protocol_argument_over_the_environment(
    protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``configure(protocol=...)`` wins over ``OTEL_EXPORTER_OTLP_PROTOCOL``."""
    import spanflow
    from spanflow._internal import config

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    try:
        spanflow.configure(endpoint="http://127.0.0.1:9", protocol=protocol)
        (endpoint,) = config.settings().otlp_endpoints
        assert endpoint.protocol == protocol
    finally:
        spanflow.configure(exporters=["none"])


def test_flush_sends_spooled_run_records_where_the_logs_variables_say(tmp_path: Path) -> None:
    """Spans to a trace-only backend, run records to a collector via
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: ``spanflow spool flush`` in that environment delivers the
    spooled run records to the collector, not to the trace backend that would drop them."""
    from spanflow_collector.index import open_store
    from spanflow_collector.server import Collector

    store = open_store(str(tmp_path / "index.db"))
    collector = Collector(store, http_port=0, grpc_port=None)
    collector.start()
    try:
        with OTLPReceiver(accept_logs=False) as traces_only:
            spool = Spool(tmp_path / "spool", 10**8)
            start = RunRecord(
                attr.RecordKindValue.START,
                run_id="spooled-records",
                segment=0,
                record_id="start-after-outage",
                trace_id="d4" * 16,
                span_id="e5" * 8,
                time_unix_nano=1_800_000_000_000_000_000,
                fields={attr.RUN_NAME: "after the outage"},
            )
            body = encode_request([start], {"service.name": "spooler"})
            spool.put(SpooledRequest(traces_only.traces_url, "http/protobuf", LOGS, 1, body))
            flusher = subprocess.Popen(
                [sys.executable, "-m", "spanflow.cli", "spool", "flush"],
                env=child_environment(
                    SPANFLOW_SPOOL_DIR=str(spool.root),
                    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=traces_only.traces_url,
                    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=f"{collector.http_url}/v1/logs",
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            out, errors = flusher.communicate(timeout=TIMEOUT_S)
            assert flusher.returncode == 0, errors
            assert "delivered 1 items in 1 requests; 0 requests refused" in out
            assert traces_only.logs_request_count == 0
        run = store.get_run("spooled-records")
        assert run is not None and run.name == "after the outage"
    finally:
        collector.stop()
        store.close()


def _segment_record(
    kind: str, record_id: str, trace_id: str, segment: int, **payload: Any
) -> bytes:
    record = RunRecord(
        kind,
        run_id="resumed-after-outage",
        record_id=record_id,
        segment=segment,
        trace_id=trace_id,
        span_id="e5" * 8,
        time_unix_nano=1_800_000_000_000_000_000 + segment,
        **payload,
    )
    return encode_request([record], {"service.name": "resumed"})


def test_a_resumed_segments_params_flushed_before_its_start_record_are_kept(
    tmp_path: Path,
) -> None:
    """After an outage, another process still delivering the spooled start record of a resumed
    segment while ``spanflow spool flush`` delivers the segment's params: nothing is lost."""
    from spanflow_collector.index import open_store
    from spanflow_collector.server import Collector

    store = open_store(str(tmp_path / "index.db"))
    collector = Collector(store, http_port=0, grpc_port=None)
    collector.start()
    try:
        traces_url = f"{collector.http_url}/v1/traces"
        first, resumed = "a1" * 16, "b2" * 16
        requests.post(
            f"{collector.http_url}/v1/logs",
            data=_segment_record(attr.RecordKindValue.START, "s0", first, 0),
            headers={"Content-Type": "application/x-protobuf"},
            timeout=TIMEOUT_S,
        ).raise_for_status()
        spool = Spool(tmp_path / "spool", 10**8)
        start = _segment_record(attr.RecordKindValue.START, "s1", resumed, 1)
        params = _segment_record(
            attr.RecordKindValue.PARAMS, "p1", resumed, 1, values={"resumed_lr": 0.5}
        )
        start_file, _ = spool.put(SpooledRequest(traces_url, "http/protobuf", LOGS, 1, start))
        spool.put(SpooledRequest(traces_url, "http/protobuf", LOGS, 1, params))
        assert start_file is not None
        other_process = Spool.claim(start_file)  # the oldest file, taken by another drainer
        assert other_process is not None

        out, errors = spool_cli(spool.root, "flush").communicate(timeout=TIMEOUT_S)
        assert "delivered 1 items in 1 requests; 0 requests refused" in out, errors
        held = store.get_run("resumed-after-outage")
        assert held is not None and dict(held.params) == {}

        requests.post(
            f"{collector.http_url}/v1/logs",
            data=start,
            headers={"Content-Type": "application/x-protobuf"},
            timeout=TIMEOUT_S,
        ).raise_for_status()
        other_process.done()
        run = store.get_run("resumed-after-outage")
        assert run is not None and dict(run.params) == {"resumed_lr": 0.5}
    finally:
        collector.stop()
        store.close()
