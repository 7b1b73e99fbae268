"""``Settings``: what ``configure()`` arguments and the environment resolve to."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.util.re import parse_env_headers

from spanflow import environment as env
from spanflow._internal.exporters import EXPORTER_NAMES, ConfigurationError, traces_url

DEFAULT_PROJECT = "default"
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
    otlp_endpoints: tuple[tuple[str, Mapping[str, str]], ...] = ()
    db_path: Path = DEFAULT_DB_PATH
    heartbeat_interval_s: float = DEFAULT_HEARTBEAT_INTERVAL_S
    dataflow: bool = True
    propagate_context: bool = True
    disabled: bool = False
    resource_attributes: Mapping[str, str] = field(default_factory=dict)


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


def resolve_endpoints(
    endpoint: str | Sequence[str] | None, headers: Mapping[str, str] | None
) -> tuple[tuple[str, Mapping[str, str]], ...]:
    """The OTLP/HTTP traces URLs to export to, each with its request headers.

    ``endpoint`` (or ``SPANFLOW_ENDPOINT``, comma-separated) names spanflow collectors or any
    OTLP receivers; each gets the ``SPANFLOW_COLLECTOR_TOKEN`` as a bearer token. Without
    them, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (used as is) or ``OTEL_EXPORTER_OTLP_ENDPOINT``
    (``/v1/traces`` appended) is used. ``OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`` apply to all.
    """
    env_headers = dict(
        parse_env_headers(
            os.environ.get(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS)
            or os.environ.get(env.OTEL_EXPORTER_OTLP_HEADERS, ""),
            liberal=True,
        )
    )
    common = {**env_headers, **(headers or {})}
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
        return tuple((_traces_url_from(source, url), with_token) for url in spanflow_urls)
    traces_endpoint = os.environ.get(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "").strip()
    if traces_endpoint:
        _traces_url_from(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, traces_endpoint)  # check only
        return ((traces_endpoint, common),)
    base = os.environ.get(env.OTEL_EXPORTER_OTLP_ENDPOINT, "").strip()
    if base:
        return ((_traces_url_from(env.OTEL_EXPORTER_OTLP_ENDPOINT, base), common),)
    return ()


def _traces_url_from(source: str, url: str) -> str:
    """``traces_url(url)``, its error naming the argument or variable ``url`` came from."""
    try:
        return traces_url(url)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{source}: {exc}") from exc


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
) -> Settings:
    """Resolve ``configure()``'s arguments against the environment.

    Raises:
        ConfigurationError: a value that cannot work (negative interval, bad endpoint URL).
    """
    otlp_endpoints = resolve_endpoints(endpoint, headers)
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
    )
