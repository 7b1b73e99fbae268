"""OTLP protocols: the run reaches a real collector over grpc, http/protobuf and http/json."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.e2e.test_outage import (
    collector_on,
    finish,
    free_port,
    read_values,
    start_scenario,
)
from tests.environments import child_environment

from spanflow import Client


@pytest.mark.slow
@pytest.mark.parametrize(
    ("protocol", "compression"),
    [
        ("grpc", "none"),
        ("http/protobuf", "none"),
        ("http/json", "none"),
        ("grpc", "gzip"),
        ("http/protobuf", "gzip"),
    ],
)
def test_otel_exporter_otlp_protocol_delivers_the_run(
    tmp_path: Path, protocol: str, compression: str
) -> None:
    """``OTEL_EXPORTER_OTLP_PROTOCOL`` (and ``_COMPRESSION``) pick the wire format; the run
    reaches the collector."""
    http_port, grpc_port = free_port(), free_port()
    port = grpc_port if protocol == "grpc" else http_port
    with collector_on(tmp_path / "index.db", http_port, grpc_port) as url:
        scenario = start_scenario(
            "flush_result",
            OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
            OTEL_EXPORTER_OTLP_COMPRESSION=compression,
            OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}",
        )
        run_id = read_values(scenario)["run_id"]
        assert read_values(scenario)["flushed"] == "True"
        finish(scenario)
        with Client(url) as client:
            run = client.get_run(run_id)
            (root,) = client.tree(run_id)
    assert run.status == "completed"
    assert run.params["protocol_check"] == "yes"  # run records (OTLP logs) took the same way
    # Ids survived the encoding: the three spans hang under the run's root span.
    assert sorted(child.span.name for child in root.children) == ["work-0", "work-1", "work-2"]


def test_an_unknown_protocol_is_a_configuration_error() -> None:
    """``configure(protocol=...)`` names the protocols it supports when given another."""
    import spanflow

    with pytest.raises(spanflow.ConfigurationError, match=r"grpc, http/protobuf, http/json"):
        spanflow.configure(endpoint="http://127.0.0.1:4318", protocol="thrift")


def test_a_bad_protocol_in_the_environment_never_breaks_the_program() -> None:
    """Implicit configuration with an unknown protocol logs why and the run still works."""
    script = "import spanflow\nwith spanflow.run('x') as run:\n    pass\nprint('ok', run.status)\n"
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=child_environment(
            OTEL_EXPORTER_OTLP_PROTOCOL="thrift", SPANFLOW_ENDPOINT="http://127.0.0.1:9"
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip() == "ok completed", done.stderr
    assert "OTEL_EXPORTER_OTLP_PROTOCOL='thrift': accepted values" in done.stderr
