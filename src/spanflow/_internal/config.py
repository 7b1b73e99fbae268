"""``configure()``: join or install the tracer provider, choose exporters, flush and shut down.

spanflow never replaces a tracer provider someone else installed: when the global provider is
an OpenTelemetry SDK ``TracerProvider`` spanflow adds its one :class:`SpanflowProcessor` to it;
otherwise it installs a provider of its own. Calling ``configure()`` again swaps the export
routes of that processor, because OpenTelemetry allows only one global provider per process.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from spanflow._internal import (
    child_exit,
    config_checks,
    exit_hooks,
    inherit,
    pool_tasks,
    provider_join,
    provider_state,
)
from spanflow._internal import exporters as exporter_builders
from spanflow._internal import redact as redaction
from spanflow._internal import settings as settings_module
from spanflow._internal.guard import report_internal_error
from spanflow._internal.inherit import ProcessPropagationInstrumentor
from spanflow._internal.parameters import ConfigurationError
from spanflow._internal.provider_state import (
    SwitchableIdGenerator,
    force_flush,
    id_generator,
    processor,
    settings,
)
from spanflow._internal.provider_state import state as _state
from spanflow._internal.settings import Settings
from spanflow._internal.spool import Spool
from spanflow._internal.threads import ThreadPropagationInstrumentor
from spanflow._version import get_tracer
from spanflow.instrumentation.openinference import set_enabled as set_openinference
from spanflow.redaction import Redactor

logger = logging.getLogger("spanflow")


def configure(
    *,
    project: str | None = None,
    service_name: str | None = None,
    endpoint: str | Sequence[str] | None = None,
    headers: Mapping[str, str] | None = None,
    exporters: Sequence[str | SpanExporter] | None = None,
    db_path: str | os.PathLike[str] | None = None,
    heartbeat_interval_s: float | None = None,
    capture_content: bool | None = None,
    max_content_chars: int | None = None,
    dataflow: bool | Literal["inline"] | None = None,
    propagate_context: bool = True,
    resource_attributes: Mapping[str, str] | None = None,
    redact: bool | None = None,
    redact_patterns: Sequence[str | re.Pattern[str]] | None = None,
    protocol: str | None = None,
    spool_dir: str | os.PathLike[str] | None = None,
    spool_max_bytes: int | None = None,
    exit_timeout_s: float | None = None,
    openinference: bool | None = None,
    record_responses: bool | None = None,
) -> None:
    """Set up spanflow: where spans go, the default project, liveness and content capture.

    Optional: the first ``run()``, ``instrument()`` or ``@step`` call configures spanflow from
    the environment. Each argument overrides its environment variable, which overrides the
    default. Every call is complete: a second ``configure()`` resolves every setting again from
    its own arguments, the environment and the defaults (nothing is kept from an earlier call,
    nor from ``set_dataflow()``-style switches) and swaps the exporters; the tracer provider
    stays.

    Args:
        project: Default project for runs (``SPANFLOW_PROJECT``, else ``"default"``).
        service_name: ``service.name`` of a provider spanflow installs (``OTEL_SERVICE_NAME``).
        endpoint: One or several OTLP base URLs (``SPANFLOW_ENDPOINT``); each receives
            every span, e.g. a spanflow collector and Jaeger side by side.
        headers: Extra HTTP headers (gRPC metadata) for the OTLP exporters.
        exporters: Any of ``"otlp"``, ``"embedded"``, ``"console"``, ``"memory"``, ``"none"``
            or ``SpanExporter`` instances (``SPANFLOW_EXPORTERS``). Default: ``otlp`` when an
            endpoint is set, else ``embedded``.
        db_path: The embedded SQLite run index (``SPANFLOW_DB``, else ``./.spanflow/index.db``).
        heartbeat_interval_s: Seconds between heartbeats of an open run (default 30).
        capture_content: Record LLM messages and step arguments (``SPANFLOW_CAPTURE_CONTENT``,
            then ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``; default on).
        max_content_chars: Cut each captured content attribute to this many characters.
        dataflow: Detect dataflow edges between calls (``SPANFLOW_DATAFLOW``, default on);
            ``"inline"`` matches on the caller's thread instead of a background worker.
        propagate_context: Carry the current run into threads, executors and child processes.
        resource_attributes: Extra resource attributes for a provider spanflow installs.
        redact: Redact secrets in everything spanflow records (``SPANFLOW_REDACT``, default
            on). ``False`` stores credentials found in params, outputs, errors and messages as
            they are: see docs/secrets.md before turning it off.
        redact_patterns: Extra regular expressions for secrets of your own
            (``SPANFLOW_REDACT_PATTERNS``, one per line); a match becomes ``[REDACTED:custom]``.
        protocol: ``"http/protobuf"`` (default), ``"http/json"`` or ``"grpc"``
            (``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL``, ``OTEL_EXPORTER_OTLP_PROTOCOL``).
        spool_dir: Where requests an endpoint cannot take yet wait (``SPANFLOW_SPOOL_DIR``,
            default ``spanflow/spool`` under the user's cache directory).
        spool_max_bytes: The spool's bound; past it the oldest requests are dropped
            (``SPANFLOW_SPOOL_MAX_BYTES``, default 100 MiB; 0 turns the spool off).
        exit_timeout_s: The longest the process waits at exit for an endpoint
            (``SPANFLOW_EXIT_TIMEOUT_S``, default 2); what is not sent by then is spooled.
        openinference: Also write OpenInference span kinds and input/output values, for
            Arize Phoenix (``SPANFLOW_OPENINFERENCE``, default off).
        record_responses: Keep each LLM call's response for replay
            (``SPANFLOW_RECORD_RESPONSES``, default on); see docs/replay.md.

    Raises:
        ConfigurationError: An argument of the wrong type or range (the message names it), an
            unknown exporter or protocol, an unusable endpoint, interval or index path (argument
            or environment variable), grpc without ``grpcio``, the embedded index is not
            installed, or a redact pattern is not a regular expression.
    """
    arguments = dict(locals())
    config_checks.check_arguments(arguments)
    arguments["exporters"] = config_checks.exporter_choices(exporters)
    resolved = settings_module.resolve(**arguments)
    try:
        redactor = Redactor(resolved.redact_patterns)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    # Everything is checked before anything changes: a failing configure() changes nothing.
    _apply(resolved)
    redaction.use(enabled=resolved.redact, redactor=redactor)
    set_openinference(resolved.openinference)


def _apply(resolved: Settings) -> None:
    with _state.lock:
        current = trace.get_tracer_provider()
        own_endpoints, joined = provider_join.split_joined(
            current if isinstance(current, TracerProvider) else None,
            _state.processor,
            resolved.otlp_endpoints,
        )
        exporters = resolved.exporters
        if resolved.otlp_endpoints and not own_endpoints:  # every endpoint is served already
            exporters = tuple(
                choice
                for choice in exporters
                if not (isinstance(choice, str) and choice.strip().lower() == "otlp")
            )
        routes = (
            []
            if resolved.disabled
            else exporter_builders.build_routes(
                exporters,
                otlp_endpoints=own_endpoints,
                db_path=resolved.db_path,
                spool=Spool(resolved.spool_dir, resolved.spool_max_bytes),
            )
        )
        if not resolved.disabled:
            _attach_to_provider(resolved)
        _state.joined = joined
        kept = {id(route.exporter) for route in routes}
        for old in _state.processor.swap_routes(routes):
            if id(old.exporter) not in kept:  # re-used exporter instances stay open
                old.shutdown()
        settings_module.install(resolved)
        _state.tracer = get_tracer("spanflow")
        _state.configured = True
        if not _state.configured_once:
            inherit.adopt_parent_context()
            _state.configured_once = True

        propagate = resolved.propagate_context and not resolved.disabled
        ThreadPropagationInstrumentor().ensure(instrumented=propagate)
        ProcessPropagationInstrumentor().ensure(instrumented=propagate)
        exit_hooks.install()  # after the provider exists: see exit_hooks.install
        if resolved.disabled:
            pool_tasks.uninstall()
            child_exit.uninstall()
        else:
            pool_tasks.install(carry_context=resolved.propagate_context)
            child_exit.install()


def _redacted_resource(extra: Mapping[str, str], resolved: Settings) -> Resource:
    """The process's resource (``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_SERVICE_NAME`` and
    ``extra``) with secrets redacted under the settings being applied: it goes out with every
    span, to every backend."""
    resource = Resource.create(dict(extra))
    if not resolved.redact:
        return resource
    cleaned = Redactor(resolved.redact_patterns).attributes(resource.attributes)
    if cleaned is resource.attributes:
        return resource
    return Resource(cleaned, resource.schema_url)


def _attach_to_provider(resolved: Settings) -> None:
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    elif isinstance(current, trace.ProxyTracerProvider):
        extra: dict[str, str] = dict(resolved.resource_attributes)
        if resolved.service_name:
            extra[SERVICE_NAME] = resolved.service_name
        _state.id_generator = SwitchableIdGenerator()
        provider = TracerProvider(
            resource=_redacted_resource(extra, resolved), id_generator=_state.id_generator
        )
        trace.set_tracer_provider(provider)
        if trace.get_tracer_provider() is not provider:  # lost a race with another installer
            _attach_to_provider(resolved)
            return
    else:
        logger.warning(
            "spanflow: the global tracer provider %s is not an OpenTelemetry SDK provider; "
            "spanflow cannot add its exporters to it",
            type(current).__name__,
        )
        return
    if _state.provider is not provider:
        provider.add_span_processor(_state.processor)
        _state.provider = provider


def shutdown() -> None:
    """Flush and close spanflow's exporters, and remove its exit hooks. A later run configures
    spanflow again (and puts the hooks back).

    Waits at most the exit bound (``exit_timeout_s``, 2 s by default) for OTLP endpoints; what
    they did not take by then stays in the spool for the next process or ``spanflow spool flush``.
    The ``atexit`` hook and the SIGTERM handler are removed because what they flush is closed;
    threads and child processes still inherit the current run.
    """
    provider_state.shutdown()
    try:
        exit_hooks.uninstall()
    except Exception:
        report_internal_error("removing the exit hooks")


def ensure_configured() -> None:
    """Configure from the environment unless already configured; cheap after the first call.

    Never raises: when the default configuration cannot be built (e.g. the embedded index is
    not installed), spanflow logs why once and runs without exporters.
    """
    if _state.configured:
        return
    with _state.lock:
        if _state.configured:
            return
        try:
            configure()
        except Exception as exc:
            logger.warning("spanflow: %s; runs are recorded nowhere until configure() works", exc)
            try:
                _apply(Settings(exporters=()))  # the defaults: redacting, exporting nothing
            except Exception:
                logger.warning("spanflow: could not set up tracing", exc_info=True)
                _state.configured = True


def tracer() -> trace.Tracer:
    """spanflow's tracer on the global provider (configures on first use)."""
    ensure_configured()
    return _state.tracer or get_tracer("spanflow")


__all__ = [
    "ConfigurationError",
    "configure",
    "ensure_configured",
    "force_flush",
    "id_generator",
    "processor",
    "settings",
    "shutdown",
    "tracer",
]
