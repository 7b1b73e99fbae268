"""Find OTLP exporters already on a joined tracer provider, so spanflow does not add a second one.

Under ``opentelemetry-instrument`` the distro installs a ``TracerProvider`` with a batch
processor around its own OTLP exporter, configured from the same ``OTEL_EXPORTER_OTLP_*``
variables spanflow reads. Adding spanflow's route to the same endpoint would export every span
twice, so spanflow joins that exporter instead: its spans (runs, markers, LLM calls) go out
through the provider's processor, and spanflow adds routes only for endpoints nobody serves yet.

Two endpoints are the same when protocol family (gRPC or HTTP), host, port and, for HTTP, the
path match; ``localhost`` and ``127.0.0.1`` count as one host.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from urllib.parse import urlparse

from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from spanflow._internal.otlp_send import GRPC, OtlpEndpoint, grpc_target

logger = logging.getLogger("spanflow")

_LOOPBACK_NAMES = {"localhost": "127.0.0.1", "::1": "127.0.0.1", "[::1]": "127.0.0.1"}


def _host_port(host: str | None, port: int | None, default_port: int) -> str:
    name = (host or "").lower()
    return f"{_LOOPBACK_NAMES.get(name, name)}:{port or default_port}"


def endpoint_key(endpoint: OtlpEndpoint) -> str:
    """What identifies ``endpoint`` for comparison with another exporter's target."""
    if endpoint.protocol == GRPC:
        target, _ = grpc_target(endpoint.url)
        host, _, port = target.rpartition(":")
        return "grpc " + _host_port(host, int(port), 4317)
    parsed = urlparse(endpoint.url)
    return f"http {_host_port(parsed.hostname, parsed.port, 4318)}{parsed.path.rstrip('/')}"


def _exporter_key(exporter: object) -> str | None:
    """The target of an OpenTelemetry OTLP span exporter, in :func:`endpoint_key` form."""
    target = getattr(exporter, "_endpoint", None)
    if not isinstance(target, str):
        return None
    module = type(exporter).__module__
    if module.startswith("opentelemetry.exporter.otlp.proto.grpc"):
        # The gRPC exporter keeps only host:port (the scheme is stripped when it is parsed).
        return endpoint_key(OtlpEndpoint(target, GRPC))
    if module.startswith("opentelemetry.exporter.otlp.proto.http"):
        return endpoint_key(OtlpEndpoint(target, "http/protobuf"))
    return None


def _processors(provider: TracerProvider) -> Sequence[SpanProcessor]:
    multi = getattr(provider, "_active_span_processor", None)
    found = getattr(multi, "_span_processors", ())
    return tuple(found) if isinstance(found, tuple | list) else ()


def existing_exporters(provider: TracerProvider, own: SpanProcessor) -> dict[str, SpanProcessor]:
    """``endpoint key → processor`` for each OTLP exporter the provider already feeds."""
    found: dict[str, SpanProcessor] = {}
    for processor in _processors(provider):
        if processor is own:
            continue
        key = _exporter_key(getattr(processor, "span_exporter", None))
        if key is not None:
            found[key] = processor
    return found


def split_joined(
    provider: TracerProvider | None, own: SpanProcessor, endpoints: Sequence[OtlpEndpoint]
) -> tuple[tuple[OtlpEndpoint, ...], tuple[SpanProcessor, ...]]:
    """``endpoints`` spanflow must serve itself, and the provider's processors it joins."""
    if provider is None:
        return tuple(endpoints), ()
    existing = existing_exporters(provider, own)
    mine: list[OtlpEndpoint] = []
    joined: list[SpanProcessor] = []
    for endpoint in endpoints:
        processor = existing.get(endpoint_key(endpoint))
        if processor is None:
            mine.append(endpoint)
            continue
        joined.append(processor)
        logger.info(
            "spanflow: the tracer provider already exports to %s; spanflow's spans go through "
            "that exporter instead of a second one",
            endpoint.identity,
        )
    return tuple(mine), tuple(joined)
