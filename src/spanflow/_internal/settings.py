"""``Settings``: what ``configure()`` arguments and the environment resolve to."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.util.re import parse_env_headers

from spanflow import environment as env
from spanflow._internal.exporters import EXPORTER_NAMES, ConfigurationError, traces_url
from spanflow._internal.otlp_send import GRPC, HTTP_PROTOBUF, PROTOCOLS, OtlpEndpoint

DEFAULT_PROJECT = "default"
DEFAULT_SPOOL_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_EXIT_TIMEOUT_S = 2.0
DEFAULT_HEARTBEAT_INTERVAL_S = 30.0
DEFAULT_DB_PATH = Path(".spanflow") / "index.db"
_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class Settings:
    """The resolved configuration (arguments first, then environment, then defaults)."""

    project: str = DEFAULT_PROJECT
    service_name: str | None = None
    exporters: tuple[str | SpanExporter, ...] = ()
    otlp_endpoints: tuple[OtlpEndpoint, ...] = ()
    db_path: Path = DEFAULT_DB_PATH
    heartbeat_interval_s: float = DEFAULT_HEARTBEAT_INTERVAL_S
    dataflow: bool = True
    propagate_context: bool = True
    disabled: bool = False
    resource_attributes: Mapping[str, str] = field(default_factory=dict)
    protocol: str = HTTP_PROTOBUF
    spool_dir: Path = field(default_factory=lambda: default_spool_dir())
    spool_max_bytes: int = DEFAULT_SPOOL_MAX_BYTES
    exit_timeout_s: float = DEFAULT_EXIT_TIMEOUT_S


def default_spool_dir() -> Path:
    """``spool`` under the user's cache directory (XDG on Linux, Caches on macOS, LOCALAPPDATA)."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    return base / "spanflow" / "spool"


def env_flag(name: str, default: bool) -> bool:
    """A true/false environment variable; anything unrecognised means ``default``."""
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE_WORDS:
        return True
    if value in _FALSE_WORDS:
        return False
    return default


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def resolve_protocol(protocol: str | None) -> str:
    """The OTLP protocol: ``protocol``, else the ``OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL``.

    Raises:
        ConfigurationError: not one of grpc, http/protobuf, http/json; or grpc without grpcio.
    """
    chosen = (
        protocol
        or os.environ.get(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, "").strip()
        or os.environ.get(env.OTEL_EXPORTER_OTLP_PROTOCOL, "").strip()
        or HTTP_PROTOBUF
    ).lower()
    if chosen not in PROTOCOLS:
        raise ConfigurationError(
            f"OTLP protocol {chosen!r} is not supported; choose one of {', '.join(PROTOCOLS)}"
        )
    if chosen == GRPC:
        try:
            import grpc  # noqa: F401
        except ImportError as exc:
            raise ConfigurationError(
                "OTLP protocol 'grpc' needs grpcio: pip install 'spanflow[grpc]' "
                "(or pip install grpcio), or use protocol 'http/protobuf'"
            ) from exc
    return chosen


def _endpoint_url(source: str, url: str, protocol: str, *, full: bool = False) -> str:
    """The URL an endpoint is known by: the traces URL for HTTP, the base URL for gRPC.

    Raises:
        ConfigurationError: an unusable URL; the message names ``source`` (the argument or
            environment variable it came from).
    """
    url = url.strip()
    if protocol == GRPC:
        if not url or " " in url:
            raise ConfigurationError(f"{source}: OTLP/gRPC endpoint {url!r} is not host:port")
        return url.rstrip("/")
    try:
        if full and not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"OTLP endpoint {url!r} must start with http:// or https://")
        return url if full else traces_url(url)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{source}: {exc}") from exc


def resolve_endpoints(
    endpoint: str | Sequence[str] | None,
    headers: Mapping[str, str] | None,
    protocol: str = HTTP_PROTOBUF,
) -> tuple[OtlpEndpoint, ...]:
    """The OTLP endpoints to export to, each with its request headers.

    ``endpoint`` (or ``SPANFLOW_ENDPOINT``, comma-separated) names spanflow collectors or any
    OTLP receivers; each gets the ``SPANFLOW_COLLECTOR_TOKEN`` as a bearer token. Without
    them, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (used as is) or ``OTEL_EXPORTER_OTLP_ENDPOINT``
    (``/v1/traces`` appended for HTTP) is used. ``OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`` apply to
    all. For gRPC an endpoint is ``http://host:port`` (``https://`` for TLS) or ``host:port``.
    """
    env_headers = dict(
        parse_env_headers(
            os.environ.get(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS)
            or os.environ.get(env.OTEL_EXPORTER_OTLP_HEADERS, ""),
            liberal=True,
        )
    )
    common = {**env_headers, **(headers or {})}
    transport = _transport_options()
    spanflow_urls: list[str]
    if endpoint is not None:
        spanflow_urls = [endpoint] if isinstance(endpoint, str) else list(endpoint)
    else:
        spanflow_urls = _split(os.environ.get(env.SPANFLOW_ENDPOINT, ""))
    if spanflow_urls:
        token = os.environ.get(env.SPANFLOW_COLLECTOR_TOKEN)
        with_token = dict(common)
        if token and "authorization" not in {key.lower() for key in with_token}:
            with_token["Authorization"] = f"Bearer {token}"
        source = "endpoint" if endpoint is not None else env.SPANFLOW_ENDPOINT
        return tuple(
            OtlpEndpoint(
                _endpoint_url(source, url, protocol),
                protocol,
                tuple(with_token.items()),
                **transport,
            )
            for url in spanflow_urls
        )
    traces_endpoint = os.environ.get(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "").strip()
    if traces_endpoint:
        url = _endpoint_url(
            env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, traces_endpoint, protocol, full=True
        )
        return (OtlpEndpoint(url, protocol, tuple(common.items()), **transport),)
    base = os.environ.get(env.OTEL_EXPORTER_OTLP_ENDPOINT, "").strip()
    if base:
        url = _endpoint_url(env.OTEL_EXPORTER_OTLP_ENDPOINT, base, protocol)
        return (OtlpEndpoint(url, protocol, tuple(common.items()), **transport),)
    return ()


def _transport_options() -> dict[str, Any]:
    """Compression and CA certificate from the ``OTEL_EXPORTER_OTLP_(TRACES_)*`` variables.

    Raises:
        ConfigurationError: a compression other than ``gzip`` or ``none``.
    """
    compression = (
        os.environ.get(env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, "").strip()
        or os.environ.get(env.OTEL_EXPORTER_OTLP_COMPRESSION, "").strip()
    ).lower()
    if compression not in ("", "none", "gzip"):
        raise ConfigurationError(
            f"OTLP compression {compression!r} is not supported; use 'gzip' or 'none'"
        )
    certificate = (
        os.environ.get(env.OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE, "").strip()
        or os.environ.get(env.OTEL_EXPORTER_OTLP_CERTIFICATE, "").strip()
    )
    return {"gzip": compression == "gzip", "certificate": certificate or None}


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from exc


def resolve(
    *,
    project: str | None = None,
    service_name: str | None = None,
    endpoint: str | Sequence[str] | None = None,
    headers: Mapping[str, str] | None = None,
    exporters: Sequence[str | SpanExporter] | None = None,
    db_path: str | os.PathLike[str] | None = None,
    heartbeat_interval_s: float | None = None,
    dataflow: bool | None = None,
    propagate_context: bool = True,
    resource_attributes: Mapping[str, str] | None = None,
    protocol: str | None = None,
    spool_dir: str | os.PathLike[str] | None = None,
    spool_max_bytes: int | None = None,
    exit_timeout_s: float | None = None,
) -> Settings:
    """Resolve ``configure()``'s arguments against the environment.

    Raises:
        ConfigurationError: a value that cannot work (negative interval, bad endpoint URL).
    """
    chosen_protocol = resolve_protocol(protocol)
    otlp_endpoints = resolve_endpoints(endpoint, headers, chosen_protocol)
    if exporters is None:
        named = _split(os.environ.get(env.SPANFLOW_EXPORTERS, ""))
        unknown = [name for name in named if name.lower() not in EXPORTER_NAMES]
        if unknown:
            raise ConfigurationError(
                f"{env.SPANFLOW_EXPORTERS}: unknown exporter {unknown[0]!r}; "
                f"choose from {', '.join(EXPORTER_NAMES)}"
            )
        exporters = named or (["otlp"] if otlp_endpoints else ["embedded"])
    if heartbeat_interval_s is None:
        raw = os.environ.get(env.SPANFLOW_HEARTBEAT_INTERVAL_S, "").strip()
        try:
            heartbeat_interval_s = float(raw) if raw else DEFAULT_HEARTBEAT_INTERVAL_S
        except ValueError as exc:
            raise ConfigurationError(
                f"{env.SPANFLOW_HEARTBEAT_INTERVAL_S}={raw!r} is not a number of seconds"
            ) from exc
        if not (heartbeat_interval_s > 0 and math.isfinite(heartbeat_interval_s)):
            raise ConfigurationError(
                f"{env.SPANFLOW_HEARTBEAT_INTERVAL_S}={raw!r} must be a positive number of seconds"
            )
    if not heartbeat_interval_s > 0:
        raise ConfigurationError(
            f"heartbeat_interval_s must be a positive number of seconds, got {heartbeat_interval_s}"
        )
    if spool_max_bytes is None:
        spool_max_bytes = int(_env_number(env.SPANFLOW_SPOOL_MAX_BYTES, DEFAULT_SPOOL_MAX_BYTES))
    if spool_max_bytes < 0:
        raise ConfigurationError(f"spool_max_bytes must be 0 or more, got {spool_max_bytes}")
    if exit_timeout_s is None:
        exit_timeout_s = _env_number(env.SPANFLOW_EXIT_TIMEOUT_S, DEFAULT_EXIT_TIMEOUT_S)
    if not exit_timeout_s >= 0:
        raise ConfigurationError(f"exit_timeout_s must be 0 or more seconds, got {exit_timeout_s}")
    return Settings(
        project=project or os.environ.get(env.SPANFLOW_PROJECT) or DEFAULT_PROJECT,
        service_name=service_name,
        exporters=tuple(exporters),
        otlp_endpoints=otlp_endpoints,
        db_path=Path(db_path or os.environ.get(env.SPANFLOW_DB) or DEFAULT_DB_PATH),
        heartbeat_interval_s=float(heartbeat_interval_s),
        dataflow=dataflow if dataflow is not None else env_flag(env.SPANFLOW_DATAFLOW, True),
        propagate_context=propagate_context,
        disabled=env_flag(env.OTEL_SDK_DISABLED, False),
        resource_attributes=dict(resource_attributes or {}),
        protocol=chosen_protocol,
        spool_dir=Path(spool_dir or os.environ.get(env.SPANFLOW_SPOOL_DIR) or default_spool_dir()),
        spool_max_bytes=spool_max_bytes,
        exit_timeout_s=float(exit_timeout_s),
    )
