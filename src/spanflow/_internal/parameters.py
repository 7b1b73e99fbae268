"""The parameter table: every setting spanflow has, its variables, type, default and parser.

One precedence rule for all of them: a ``configure()`` argument, else the first of its
environment variables that is set (not empty), else the default. ``Settings`` has one field per
row (``settings.py``), docs/configuration.md documents every row (a test compares them), and a
value a parser cannot read is a ``ConfigurationError`` naming the variable and what it accepts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from spanflow import environment as env
from spanflow._internal.otlp_send import HTTP_PROTOBUF, PROTOCOLS
from spanflow.environment import Default

EXPORTER_NAMES = ("otlp", "console", "memory", "embedded", "none")
DATAFLOW_OFF = "off"
DATAFLOW_BACKGROUND = "background"
DATAFLOW_INLINE = "inline"

_TRUE_WORDS = ("true", "1", "yes", "on")
_FALSE_WORDS = ("false", "0", "no", "off")
# OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT's own values: content on spans or not.
_GENAI_CONTENT_ON = ("span_only", "span_and_event")
_GENAI_CONTENT_OFF = ("no_content", "event_only")


class ConfigurationError(ValueError):
    """``configure()`` was given something it cannot use; the message says what to change."""


@dataclass(frozen=True)
class Parameter:
    """One setting: how ``configure()`` names it, where else it comes from, what it is."""

    name: str
    """The ``configure()`` argument and the ``Settings`` field."""
    variables: tuple[str, ...]
    """Environment variables, in order: the first one set is read."""
    kind: str
    """The type as the docs write it."""
    default: Any
    """The value when neither an argument nor a variable gives one."""
    parse: Callable[[str], Any] | None
    """Reads a variable's text; raises ``ValueError`` saying what it accepts."""
    description: str
    argument: bool = True
    """False: set only by the environment (no ``configure()`` argument)."""


def parse_flag(raw: str) -> bool:
    """``true``/``1``/``yes``/``on`` or ``false``/``0``/``no``/``off``, any case."""
    word = raw.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError(f"accepted values: {', '.join(_TRUE_WORDS + _FALSE_WORDS)}")


def parse_otel_boolean(raw: str) -> bool:
    """An OpenTelemetry boolean: ``true`` (any case) is true, anything else false (its spec)."""
    return raw.strip().lower() == "true"


def parse_content_flag(raw: str) -> bool:
    """A flag, or one of the OpenTelemetry GenAI content values (``NO_CONTENT``, ...)."""
    word = raw.strip().lower()
    if word in _GENAI_CONTENT_ON:
        return True
    if word in _GENAI_CONTENT_OFF:
        return False
    try:
        return parse_flag(word)
    except ValueError:
        accepted = _TRUE_WORDS + _FALSE_WORDS + tuple(v.upper() for v in _GENAI_CONTENT_OFF)
        accepted += tuple(value.upper() for value in _GENAI_CONTENT_ON)
        raise ValueError(f"accepted values: {', '.join(accepted)}") from None


def parse_dataflow(raw: str) -> str:
    """``inline``, or a flag: ``off`` when false, the background worker when true."""
    word = raw.strip().lower()
    if word == DATAFLOW_INLINE:
        return DATAFLOW_INLINE
    try:
        return DATAFLOW_BACKGROUND if parse_flag(word) else DATAFLOW_OFF
    except ValueError:
        accepted = (DATAFLOW_INLINE, *_TRUE_WORDS, *_FALSE_WORDS)
        raise ValueError(f"accepted values: {', '.join(accepted)}") from None


def dataflow_mode(value: bool | str) -> str:
    """The mode a ``configure(dataflow=...)`` argument asks for."""
    if value == DATAFLOW_INLINE:
        return DATAFLOW_INLINE
    return DATAFLOW_BACKGROUND if value else DATAFLOW_OFF


def _text(raw: str) -> str:
    return raw.strip()


def _words(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _exporter_names(raw: str) -> tuple[str, ...]:
    names = _words(raw)
    unknown = [name for name in names if name.lower() not in EXPORTER_NAMES]
    if unknown:
        choices = ", ".join(EXPORTER_NAMES)
        raise ValueError(f"unknown exporter {unknown[0]!r}; choose from {choices}")
    return names


def _protocol(raw: str) -> str:
    chosen = raw.strip().lower()
    if chosen not in PROTOCOLS:
        raise ValueError(f"accepted values: {', '.join(PROTOCOLS)}")
    return chosen


def _compression(raw: str) -> str:
    chosen = raw.strip().lower()
    if chosen not in ("gzip", "none"):
        raise ValueError("accepted values: gzip, none")
    return chosen


def _positive_seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("is not a number of seconds") from None
    if not (value > 0 and math.isfinite(value)):
        raise ValueError("must be a positive, finite number of seconds")
    return value


def _milliseconds(raw: str) -> float:
    """An OpenTelemetry timeout variable: milliseconds, as seconds."""
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("is not a number of milliseconds") from None
    if not (value > 0 and math.isfinite(value)):
        raise ValueError("must be a positive, finite number of milliseconds")
    return value / 1000


def _seconds_or_zero(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("is not a number of seconds") from None
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError("must be 0 or more seconds")
    return value


def _count(minimum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"must be a whole number, {minimum} or more") from None
        if value < minimum:
            raise ValueError(f"must be a whole number, {minimum} or more")
        return value

    return parse


def _patterns(raw: str) -> tuple[str, ...]:
    patterns = tuple(line.strip() for line in raw.splitlines() if line.strip())
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
    return patterns


def _resource(raw: str) -> dict[str, str]:
    """``key=value,key=value`` with percent-encoding, as the OpenTelemetry specification says."""
    pairs: dict[str, str] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        key, separator, value = item.partition("=")
        if not separator or not key.strip():
            raise ValueError("must be key=value pairs separated by commas")
        pairs[unquote(key.strip())] = unquote(value.strip())
    return pairs


DEFAULT_MAX_CONTENT_CHARS = 16_384
DEFAULT_MAX_ARTIFACT_BYTES = 1024 * 1024
MAX_ARTIFACT_BYTES_CEILING = 8 * 1024 * 1024
"""The most one artifact's content may be: its record must fit one OTLP request (the
collector's body limit is 20 MiB and OTLP/JSON carries bytes as base64, a third larger). A
larger ``max_artifact_bytes`` is lowered to it, with a warning (``settings.resolve``)."""
_GENAI_CONTENT_VARIABLE = env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT

PARAMETERS: tuple[Parameter, ...] = (
    Parameter("project", (env.SPANFLOW_PROJECT,), "str", Default.SPANFLOW_PROJECT, _text,
              "project of runs that do not name one"),
    Parameter("service_name", (env.OTEL_SERVICE_NAME,), "str", None, _text,
              "`service.name` of a provider spanflow installs"),
    # endpoint and headers: read by settings.resolve_endpoints (each variable has its own form).
    Parameter("endpoint",
              (env.SPANFLOW_ENDPOINT, env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
               env.OTEL_EXPORTER_OTLP_ENDPOINT),
              "list[str]", (), None, "OTLP base URLs, each receiving every span"),
    Parameter("headers", (env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, env.OTEL_EXPORTER_OTLP_HEADERS),
              "dict[str, str]", None, None,
              "extra HTTP headers (gRPC metadata) for every OTLP exporter"),
    Parameter("protocol",
              (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, env.OTEL_EXPORTER_OTLP_PROTOCOL),
              "str", HTTP_PROTOBUF, _protocol, "OTLP protocol"),
    Parameter("spool_dir", (env.SPANFLOW_SPOOL_DIR,), "path", None, Path,
              "where OTLP requests wait while their endpoint is unreachable"),
    Parameter("spool_max_bytes", (env.SPANFLOW_SPOOL_MAX_BYTES,), "int", 100 * 1024 * 1024,
              _count(0), "the spool's bound in bytes; 0: no spool"),
    Parameter("exit_timeout_s", (env.SPANFLOW_EXIT_TIMEOUT_S,), "float", 2.0, _seconds_or_zero,
              "longest wait for OTLP endpoints at exit"),
    Parameter("exporters", (env.SPANFLOW_EXPORTERS,), "list[str | SpanExporter]", (),
              _exporter_names, "where spans go"),
    Parameter("db_path", (env.SPANFLOW_DB,), "path", Path(Default.SPANFLOW_DB), Path,
              "the embedded SQLite run index"),
    Parameter("heartbeat_interval_s", (env.SPANFLOW_HEARTBEAT_INTERVAL_S,), "float",
              Default.SPANFLOW_HEARTBEAT_INTERVAL_S, _positive_seconds,
              "seconds between heartbeats of an open run"),
    Parameter("capture_content", (env.SPANFLOW_CAPTURE_CONTENT, _GENAI_CONTENT_VARIABLE),
              "bool", True, parse_content_flag,
              "record LLM messages, step arguments and return values"),
    Parameter("max_content_chars", (env.SPANFLOW_MAX_CONTENT_CHARS,), "int",
              DEFAULT_MAX_CONTENT_CHARS, _count(1), "bound of each captured content attribute"),
    Parameter("dataflow", (env.SPANFLOW_DATAFLOW,), "bool | 'inline'", DATAFLOW_BACKGROUND,
              parse_dataflow, "detect dataflow edges between calls"),
    Parameter("propagate_context", (), "bool", True, None,
              "carry the current run into threads, executors and child processes"),
    Parameter("resource_attributes", (env.OTEL_RESOURCE_ATTRIBUTES,), "dict[str, str]", None,
              _resource, "extra resource attributes for a provider spanflow installs"),
    Parameter("redact", (env.SPANFLOW_REDACT,), "bool", True, parse_flag,
              "replace secrets in everything spanflow records"),
    Parameter("redact_patterns", (env.SPANFLOW_REDACT_PATTERNS,), "list[str]", (), _patterns,
              "extra secret patterns, one regular expression per line"),
    Parameter("openinference", (env.SPANFLOW_OPENINFERENCE,), "bool", False, parse_flag,
              "also write OpenInference span kinds"),
    Parameter("record_responses", (env.SPANFLOW_RECORD_RESPONSES,), "bool", True, parse_flag,
              "keep each LLM call's response for replay"),
    # Set by the environment only.
    Parameter("disabled", (env.OTEL_SDK_DISABLED,), "bool", False, parse_otel_boolean,
              "export nothing", argument=False),
    Parameter("stream_usage", (env.SPANFLOW_STREAM_USAGE,), "bool", False, parse_flag,
              "ask streamed OpenAI-API chat completions for token usage", argument=False),
    Parameter("record_launch", (env.SPANFLOW_RECORD_LAUNCH,), "bool", False, parse_flag,
              "every top-level run records how to start it again", argument=False),
    Parameter("compression",
              (env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, env.OTEL_EXPORTER_OTLP_COMPRESSION),
              "str", "none", _compression, "gzip compresses OTLP requests", argument=False),
    Parameter("certificate",
              (env.OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE, env.OTEL_EXPORTER_OTLP_CERTIFICATE),
              "path", None, _text, "CA certificate file for https:// endpoints", argument=False),
    Parameter("request_timeout_s",
              (env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, env.OTEL_EXPORTER_OTLP_TIMEOUT),
              "float", 10.0, _milliseconds,
              "longest wait for one OTLP request (the variables are in milliseconds)",
              argument=False),
    Parameter("max_run_keys", (env.SPANFLOW_MAX_RUN_KEYS,), "int", 100_000, _count(1),
              "distinct keys of each kind one run may log", argument=False),
    Parameter("max_run_metric_points", (env.SPANFLOW_MAX_RUN_METRIC_POINTS,), "int",
              10_000_000, _count(1), "metric points one run may log", argument=False),
    # naming block: read through this table like every setting (were read by their own code).
    Parameter("max_artifact_bytes", (env.SPANFLOW_MAX_ARTIFACT_BYTES,), "int",
              DEFAULT_MAX_ARTIFACT_BYTES, _count(0),
              "artifact content up to this size is stored, larger as a reference; 0: none",
              argument=False),
    Parameter("replay_plan", (env.SPANFLOW_REPLAY,), "path", None, _text,
              "the replay plan `spanflow replay` hands the program it starts", argument=False),
    # Run records (OTLP logs), as OpenTelemetry's logs exporter reads them: the LOGS_ variable,
    # else the generic one. logs_endpoint and logs_headers: read by settings.resolve_endpoints.
    Parameter("logs_endpoint",
              (env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, env.OTEL_EXPORTER_OTLP_ENDPOINT),
              "str", None, None,
              "where run records go when spans go to an OTEL_ endpoint", argument=False),
    Parameter("logs_headers",
              (env.OTEL_EXPORTER_OTLP_LOGS_HEADERS, env.OTEL_EXPORTER_OTLP_HEADERS),
              "dict[str, str]", None, None, "extra headers of run record requests",
              argument=False),
    Parameter("logs_compression",
              (env.OTEL_EXPORTER_OTLP_LOGS_COMPRESSION, env.OTEL_EXPORTER_OTLP_COMPRESSION),
              "str", "none", _compression, "gzip compresses run record requests",
              argument=False),
    Parameter("logs_request_timeout_s",
              (env.OTEL_EXPORTER_OTLP_LOGS_TIMEOUT, env.OTEL_EXPORTER_OTLP_TIMEOUT),
              "float", 10.0, _milliseconds,
              "longest wait for one run record request (the variables are in milliseconds)",
              argument=False),
)  # fmt: skip

BY_NAME = {parameter.name: parameter for parameter in PARAMETERS}


def from_environment(parameter: Parameter, environ: Any) -> tuple[bool, Any]:
    """``(True, value)`` from the first of the parameter's variables that is set, else False.

    Raises:
        ConfigurationError: the variable's value cannot be read; names it and what it accepts.
    """
    for variable in parameter.variables:
        raw = environ.get(variable, "")
        if not raw.strip() or parameter.parse is None:
            continue
        try:
            return True, parameter.parse(raw)
        except ValueError as exc:
            raise ConfigurationError(f"{variable}={raw!r}: {exc}") from None
    return False, None


def value_of(name: str, explicit: Any, environ: Any) -> Any:
    """The one precedence rule: ``explicit`` (not None), else the environment, else default."""
    if explicit is not None:
        return explicit
    parameter = BY_NAME[name]
    found, value = from_environment(parameter, environ)
    return value if found else parameter.default
