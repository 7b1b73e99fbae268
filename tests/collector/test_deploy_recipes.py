"""The deployment files under collector/deploy/ say what docs/collector.md says they do.

No OpenTelemetry Collector binary exists here, so its configuration is checked structurally:
every component a pipeline names is defined, the receivers listen on the OTLP ports, and the
same traces go to Jaeger and to spanflow with the token, retries and a queue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from spanflow_collector.limits import ReceiverLimits

DEPLOY = Path(__file__).resolve().parents[2] / "collector" / "deploy"


def _config() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_every_component_a_pipeline_names_is_defined() -> None:
    """The traces pipeline only names receivers, processors and exporters the file defines."""
    config = _config()
    pipeline = config["service"]["pipelines"]["traces"]
    for section in ("receivers", "processors", "exporters"):
        assert pipeline[section], section
        for name in pipeline[section]:
            assert name in config[section], (section, name)


def test_otlp_comes_in_on_the_standard_ports() -> None:
    """Applications export to 4317 (gRPC) and 4318 (HTTP), as to spanflow itself."""
    protocols = _config()["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317")
    assert protocols["http"]["endpoint"].endswith(":4318")


def test_the_same_traces_fan_out_to_jaeger_and_spanflow() -> None:
    """spanflow gets OTLP/HTTP with the bearer token, retries and a queue; Jaeger gets OTLP."""
    config = _config()
    assert set(config["service"]["pipelines"]["traces"]["exporters"]) == {
        "otlp/jaeger",
        "otlphttp/spanflow",
    }
    spanflow = config["exporters"]["otlphttp/spanflow"]
    assert spanflow["endpoint"] == "${env:SPANFLOW_ENDPOINT}"
    assert spanflow["headers"]["Authorization"] == "Bearer ${env:SPANFLOW_COLLECTOR_TOKEN}"
    assert spanflow["retry_on_failure"]["enabled"] is True
    assert spanflow["sending_queue"]["enabled"] is True
    assert config["exporters"]["otlp/jaeger"]["endpoint"] == "${env:JAEGER_OTLP_ENDPOINT}"


def test_the_systemd_unit_starts_the_collector() -> None:
    """The unit runs `spanflow collector` and restarts it when it dies."""
    unit = (DEPLOY / "spanflow-collector.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert "spanflow collector" in exec_start
    assert "Restart=" in unit


def test_the_systemd_unit_keeps_tokens_off_the_command_line_and_raises_the_file_limit() -> None:
    """Tokens come from the environment file, and idle connections cannot exhaust descriptors."""
    unit = (DEPLOY / "spanflow-collector.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert "--token" not in exec_start
    assert "EnvironmentFile=" in unit
    limit = next(line for line in unit.splitlines() if line.startswith("LimitNOFILE="))
    assert int(limit.split("=", 1)[1]) >= 65536


def test_the_recipe_batches_fit_under_the_collector_span_cap() -> None:
    """The OpenTelemetry Collector never sends spanflow an export its span cap would refuse."""
    config = _config()
    assert config["processors"]["batch"]["send_batch_max_size"] <= (
        ReceiverLimits().max_spans_per_request
    )
