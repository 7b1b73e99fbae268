"""The state ``configure()`` leaves behind, and what reads it: settings, processor, flush, shutdown.

Kept apart from ``config.py`` (which builds this state) so the exit hooks and the process
patches that ``configure()`` installs can flush and read the settings without importing it.
"""

from __future__ import annotations

import logging
import threading
import time

from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator

from spanflow._internal import settings as settings_module
from spanflow._internal.pipeline import SpanflowProcessor
from spanflow._internal.settings import Settings

logger = logging.getLogger("spanflow")


class SwitchableIdGenerator(IdGenerator):
    """Delegates to a replaceable generator, so tests can make ids deterministic later on."""

    def __init__(self) -> None:
        self.inner: IdGenerator = RandomIdGenerator()

    def generate_span_id(self) -> int:
        return self.inner.generate_span_id()

    def generate_trace_id(self) -> int:
        return self.inner.generate_trace_id()


class ProviderState:
    """What ``configure()`` set up in this process (one instance, ``state``)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.configured = False
        self.processor = SpanflowProcessor()
        self.provider: TracerProvider | None = None  # the SDK provider our processor is on
        self.id_generator: SwitchableIdGenerator | None = None  # only on a provider we made
        self.tracer: trace.Tracer | None = None
        self.configured_once = False
        # Processors of a joined provider that already export to one of our endpoints.
        self.joined: tuple[SpanProcessor, ...] = ()


state = ProviderState()


def settings() -> Settings:
    """The settings in force (the environment's before the first ``configure()``)."""
    return settings_module.current()


def processor() -> SpanflowProcessor:
    """The one span processor spanflow adds to the tracer provider."""
    return state.processor


def id_generator() -> SwitchableIdGenerator | None:
    """The switchable id generator, when spanflow installed the tracer provider itself."""
    return state.id_generator


def force_flush(timeout_s: float = 30.0) -> bool:
    """Export everything spanflow has queued, waiting at most ``timeout_s``.

    Returns:
        True only when every destination accepted everything: False when the time ran out, an
        OTLP endpoint was unreachable (the spans are then in the spool) or refused them (one
        log line names the endpoint and its answer).
    """
    deadline = time.monotonic() + timeout_s
    flushed = state.processor.force_flush(int(timeout_s * 1000))
    for joined in state.joined:
        # A joined provider's exporter cannot tell whether its endpoint took the spans; its
        # processor's answer is the best there is.
        remaining_ms = max(int((deadline - time.monotonic()) * 1000), 0)
        try:
            flushed = joined.force_flush(remaining_ms) and flushed
        except Exception:
            logger.warning(
                "spanflow: flushing the tracer provider's exporter failed", exc_info=True
            )
            flushed = False
    return flushed


def shutdown() -> None:
    """Flush and close spanflow's exporters. A later run configures spanflow again.

    Waits at most the exit bound (``exit_timeout_s``, 2 s by default) for OTLP endpoints; what
    they did not take by then stays in the spool for the next process or ``spanflow spool flush``.
    """
    with state.lock:
        state.processor.force_flush(int(settings_module.current().exit_timeout_s * 1000))
        state.processor.shutdown()
        state.configured = False
