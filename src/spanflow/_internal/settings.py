"""``Settings``: the one configuration object, built from the parameter table, read everywhere.

``resolve()`` applies the table's one precedence rule (argument, else environment variable, else
default) to every parameter at once. ``configure()`` installs the result; until something
configures spanflow, ``current()`` resolves the environment once on first use. Code that needs a
setting reads ``current().<field>``: nothing else reads spanflow's environment variables.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.util.re import parse_env_headers

from spanflow import environment as env
from spanflow._internal.otlp_send import GRPC, LogsOptions, OtlpEndpoint
from spanflow._internal.parameters import (
    BY_NAME,
    MAX_ARTIFACT_BYTES_CEILING,
    PARAMETERS,
    ConfigurationError,
    dataflow_mode,
    value_of,
)

logger = logging.getLogger("spanflow")

Environ = Mapping[str, str]


_DEFAULTS: dict[str, Any] = {parameter.name: parameter.default for parameter in PARAMETERS}


@dataclass(frozen=True)
class Settings:
    """Every setting, resolved (one field per row of ``parameters.PARAMETERS``).

    ``endpoint``, ``headers``, ``logs_endpoint`` and ``logs_headers`` are resolved together into
    ``otlp_endpoints``.
    """

    project: str = _DEFAULTS["project"]
    service_name: str | None = _DEFAULTS["service_name"]
    otlp_endpoints: tuple[OtlpEndpoint, ...] = ()
    protocol: str = _DEFAULTS["protocol"]
    spool_dir: Path = field(default_factory=lambda: default_spool_dir())
    spool_max_bytes: int = _DEFAULTS["spool_max_bytes"]
    exit_timeout_s: float = _DEFAULTS["exit_timeout_s"]
    exporters: tuple[str | SpanExporter, ...] = ()
    db_path: Path = _DEFAULTS["db_path"]
    heartbeat_interval_s: float = _DEFAULTS["heartbeat_interval_s"]
    capture_content: bool = _DEFAULTS["capture_content"]
    max_content_chars: int = _DEFAULTS["max_content_chars"]
    dataflow: str = _DEFAULTS["dataflow"]
    """``off``, ``background`` or ``inline``."""
    propagate_context: bool = _DEFAULTS["propagate_context"]
    resource_attributes: Mapping[str, str] = field(default_factory=dict)
    redact: bool = _DEFAULTS["redact"]
    redact_patterns: tuple[str | re.Pattern[str], ...] = ()
    openinference: bool = _DEFAULTS["openinference"]
    record_responses: bool = _DEFAULTS["record_responses"]
    disabled: bool = _DEFAULTS["disabled"]
    stream_usage: bool = _DEFAULTS["stream_usage"]
    record_launch: bool = _DEFAULTS["record_launch"]
    compression: str = _DEFAULTS["compression"]
    certificate: str | None = _DEFAULTS["certificate"]
    request_timeout_s: float = _DEFAULTS["request_timeout_s"]
    max_run_keys: int = _DEFAULTS["max_run_keys"]
    max_run_metric_points: int = _DEFAULTS["max_run_metric_points"]
    max_artifact_bytes: int = _DEFAULTS["max_artifact_bytes"]
    replay_plan: str | None = _DEFAULTS["replay_plan"]
    """Set in a program started by ``spanflow replay`` (and its child processes)."""
    logs_compression: str = _DEFAULTS["logs_compression"]
    logs_request_timeout_s: float = _DEFAULTS["logs_request_timeout_s"]


SETTINGS_FIELDS = frozenset(item.name for item in fields(Settings))


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


TRACES_PATH = "/v1/traces"
LOGS_PATH = "/v1/logs"


def traces_url(base_or_full: str) -> str:
    """``http://host:4318`` → ``http://host:4318/v1/traces``; a URL ending in it is kept."""
    url = base_or_full.strip()
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"OTLP endpoint {url!r} must start with http:// or https://")
    if url.rstrip("/").endswith(TRACES_PATH):
        return url.rstrip("/")
    return url.rstrip("/") + TRACES_PATH


def check_protocol(protocol: str) -> str:
    """``protocol`` lowered, when this installation can speak it.

    Raises:
        ConfigurationError: not one of grpc, http/protobuf, http/json; or grpc without grpcio.
    """
    chosen = protocol.strip().lower()
    try:
        BY_NAME["protocol"].parse(chosen)  # type: ignore[misc]
    except ValueError as exc:
        raise ConfigurationError(f"protocol {protocol!r}: {exc}") from None
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
    protocol: str,
    environ: Environ | None = None,
) -> tuple[OtlpEndpoint, ...]:
    """The OTLP endpoints to export to, each with its request headers.

    ``endpoint`` (or ``SPANFLOW_ENDPOINT``, comma-separated) names spanflow collectors or any
    OTLP receivers; each gets the ``SPANFLOW_COLLECTOR_TOKEN`` as a bearer token. Without
    them, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (used as is) or ``OTEL_EXPORTER_OTLP_ENDPOINT``
    (``/v1/traces`` appended for HTTP) is used. ``OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`` apply to
    all when ``headers`` is None. For gRPC an endpoint is ``http://host:port`` or ``host:port``.
    Run records (OTLP logs) follow ``OTEL_EXPORTER_OTLP_LOGS_*`` (see :func:`_logs_options`).
    """
    environ = os.environ if environ is None else environ
    logs_headers: Mapping[str, str] | None = None
    if headers is None:
        headers = _env_headers(environ, env.OTEL_EXPORTER_OTLP_TRACES_HEADERS)
        logs_headers = _env_headers(environ, env.OTEL_EXPORTER_OTLP_LOGS_HEADERS)
    common = dict(headers)
    transport = {
        "gzip": value_of("compression", None, environ) == "gzip",
        "certificate": value_of("certificate", None, environ),
        "timeout_s": value_of("request_timeout_s", None, environ),
    }
    if endpoint is not None:
        urls = [endpoint] if isinstance(endpoint, str) else list(endpoint)
        source = "endpoint"
    else:
        raw = environ.get(env.SPANFLOW_ENDPOINT, "")
        urls = [part.strip() for part in raw.split(",") if part.strip()]
        source = env.SPANFLOW_ENDPOINT
    if urls:
        token = environ.get(env.SPANFLOW_COLLECTOR_TOKEN)
        # A spanflow collector takes both signals at one URL: no OTEL_ endpoint steers them.
        logs = _logs_options(environ, protocol, _with_token(logs_headers, token), own_url=False)
        headers_sent = _with_token(common, token) or ()
        return tuple(
            OtlpEndpoint(
                _endpoint_url(source, url, protocol), protocol, headers_sent, logs=logs, **transport
            )
            for url in urls
        )
    logs = _logs_options(environ, protocol, _with_token(logs_headers, None), own_url=True)
    traces_endpoint = environ.get(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "").strip()
    if traces_endpoint:
        url = _endpoint_url(
            env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, traces_endpoint, protocol, full=True
        )
        return (OtlpEndpoint(url, protocol, tuple(common.items()), logs=logs, **transport),)
    base = environ.get(env.OTEL_EXPORTER_OTLP_ENDPOINT, "").strip()
    if base:
        url = _endpoint_url(env.OTEL_EXPORTER_OTLP_ENDPOINT, base, protocol)
        return (OtlpEndpoint(url, protocol, tuple(common.items()), logs=logs, **transport),)
    return ()


def _env_headers(environ: Environ, signal_variable: str) -> dict[str, str]:
    """Headers from a signal's variable, else the generic ``OTEL_EXPORTER_OTLP_HEADERS``."""
    raw = environ.get(signal_variable) or environ.get(env.OTEL_EXPORTER_OTLP_HEADERS, "")
    return dict(parse_env_headers(raw, liberal=True))


def _with_token(
    headers: Mapping[str, str] | None, token: str | None
) -> tuple[tuple[str, str], ...] | None:
    """``headers`` plus ``Authorization: Bearer <token>`` unless they carry one already."""
    if headers is None:
        return None
    sent = dict(headers)
    if token and "authorization" not in {key.lower() for key in sent}:
        sent["Authorization"] = f"Bearer {token}"
    return tuple(sent.items())


def _logs_options(
    environ: Environ,
    protocol: str,
    headers: tuple[tuple[str, str], ...] | None,
    *,
    own_url: bool,
) -> LogsOptions:
    """How run records travel, as OpenTelemetry's logs exporter reads its variables.

    The ``LOGS_`` variable wins over the generic one. ``OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`` is
    used as is, ``OTEL_EXPORTER_OTLP_ENDPOINT`` gets ``/v1/logs`` appended (HTTP); with neither
    (or ``own_url`` False: endpoints named by spanflow) the records go where the spans go.
    ``headers`` None: the spans' headers (``configure(headers=...)`` covers both signals).
    """
    url: str | None = None
    logs_endpoint = environ.get(env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, "").strip()
    base = environ.get(env.OTEL_EXPORTER_OTLP_ENDPOINT, "").strip()
    if own_url and logs_endpoint:
        variable = env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT
        url = _endpoint_url(variable, logs_endpoint, protocol, full=True)
    elif own_url and base:
        url = _endpoint_url(env.OTEL_EXPORTER_OTLP_ENDPOINT, base, protocol, full=True)
        if protocol != GRPC:
            url = url.rstrip("/") + LOGS_PATH
    return LogsOptions(
        url=url,
        headers=headers,
        gzip=value_of("logs_compression", None, environ) == "gzip",
        timeout_s=value_of("logs_request_timeout_s", None, environ),
    )


def _check_explicit(arguments: Mapping[str, Any]) -> None:
    """Ranges ``config_checks`` leaves to here (it checks types)."""
    spool_max_bytes = arguments.get("spool_max_bytes")
    if spool_max_bytes is not None and spool_max_bytes < 0:
        raise ConfigurationError(f"spool_max_bytes must be 0 or more, got {spool_max_bytes}")
    exit_timeout_s = arguments.get("exit_timeout_s")
    if exit_timeout_s is not None and not exit_timeout_s >= 0:
        raise ConfigurationError(f"exit_timeout_s must be 0 or more seconds, got {exit_timeout_s}")


# Resolved into ``otlp_endpoints`` by resolve_endpoints, not into fields of their own.
_RESOLVED_TOGETHER = ("endpoint", "headers", "logs_endpoint", "logs_headers")


def resolve(environ: Environ | None = None, **arguments: Any) -> Settings:
    """Resolve ``configure()``'s arguments (``None``: not given) against the environment.

    Raises:
        ConfigurationError: a value that cannot work; names the argument or the variable.
    """
    environ = os.environ if environ is None else environ
    unknown = set(arguments) - set(BY_NAME)
    if unknown:
        raise TypeError(f"unknown settings: {sorted(unknown)}")
    _check_explicit(arguments)
    values = {
        parameter.name: value_of(parameter.name, arguments.get(parameter.name), environ)
        for parameter in PARAMETERS
        if parameter.name not in _RESOLVED_TOGETHER
    }
    protocol = check_protocol(values["protocol"])
    otlp_endpoints = resolve_endpoints(
        arguments.get("endpoint"), arguments.get("headers"), protocol, environ
    )
    if arguments.get("exporters") is not None:  # an empty list given means no exporter at all
        exporters = tuple(arguments["exporters"])
    else:
        exporters = tuple(values["exporters"]) or (("otlp",) if otlp_endpoints else ("embedded",))
    dataflow = arguments.get("dataflow")
    values.update(
        protocol=protocol,
        otlp_endpoints=otlp_endpoints,
        exporters=exporters,
        dataflow=values["dataflow"] if dataflow is None else dataflow_mode(dataflow),
        db_path=Path(values["db_path"]),
        spool_dir=Path(values["spool_dir"] or default_spool_dir()),
        heartbeat_interval_s=float(values["heartbeat_interval_s"]),
        exit_timeout_s=float(values["exit_timeout_s"]),
        resource_attributes=dict(values["resource_attributes"] or {}),
        redact_patterns=tuple(values["redact_patterns"]),
        max_artifact_bytes=_storable_artifact_bytes(values["max_artifact_bytes"]),
    )
    return Settings(**values)


def _storable_artifact_bytes(requested: int) -> int:
    """``requested``, lowered to the most one OTLP request carries safely (and said so)."""
    if requested <= MAX_ARTIFACT_BYTES_CEILING:
        return requested
    logger.warning(
        "spanflow: %s=%d is above %d, the most one OTLP request carries safely; larger "
        "artifacts are logged as references (name, size, sha256, path) instead",
        env.SPANFLOW_MAX_ARTIFACT_BYTES,
        requested,
        MAX_ARTIFACT_BYTES_CEILING,
    )
    return MAX_ARTIFACT_BYTES_CEILING


_current: Settings | None = None
_lock = threading.Lock()


def current() -> Settings:
    """The settings in force: the last ``configure()``'s, else the environment's (read once)."""
    settings = _current
    if settings is not None:
        return settings
    with _lock:
        if _current is None:
            _install(_from_environment())
        return _current or Settings()


def _from_environment() -> Settings:
    try:
        return resolve()
    except ConfigurationError as exc:
        # configure() raises this; read implicitly, it is logged (once: the result is kept).
        logger.warning("spanflow: %s; the defaults apply until configure() works", exc)
        return Settings()


def _install(settings: Settings) -> None:
    global _current
    _current = settings


def install(settings: Settings) -> None:
    """Make ``settings`` the settings in force (``configure()`` does, once they are applied)."""
    with _lock:
        _install(settings)


def update(name: str, explicit: Any) -> Settings:
    """Change one setting by the precedence rule (``explicit``, else environment, else default).

    For the switches that have their own function (``set_dataflow``, ``set_recording``, ...).

    Raises:
        ConfigurationError: ``explicit`` is None and the environment's value cannot be read.
    """
    value = value_of(name, explicit, os.environ)
    if name == "dataflow" and explicit is not None:
        value = dataflow_mode(explicit)
    with _lock:
        changed = replace(_current or _from_environment(), **{name: value})
        _install(changed)
    return changed
