"""Anthropic client instrumentation: messages (create, stream=True, ``.stream()``) as GenAI spans.

Hooks ``SyncAPIClient.request`` / ``AsyncAPIClient.request`` in ``anthropic._base_client``,
which ``messages.create`` and ``messages.stream()`` (through ``_post``) both reach.

``anthropic`` traces itself when a global tracer provider exists (a CLIENT span named
``anthropic.messages.create``, scope ``com.anthropic.sdk.python``). For the calls spanflow
traces, spanflow turns that span off so each call has one span; other endpoints keep the SDK's
own spans. ``instrument(keep_sdk_spans=True)`` leaves the SDK's spans on everywhere.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from spanflow.instrumentation._facts import ApiAdapter
from spanflow.instrumentation._request import async_request_wrapper, sync_request_wrapper
from spanflow.instrumentation._version import VERSION
from spanflow.instrumentation.anthropic._messages import MessagesAdapter
from spanflow.instrumentation.anthropic._self_tracing import SdkSpanSwitch

__all__ = ["AnthropicInstrumentor"]

_MESSAGES = MessagesAdapter()


def route(options: Any) -> ApiAdapter | None:
    """The adapter for a request's options; None for endpoints spanflow does not trace."""
    if str(getattr(options, "method", "")).lower() != "post":
        return None
    path = str(getattr(options, "url", "")).split("?", 1)[0].strip("/")
    return _MESSAGES if path == "v1/messages" else None


class AnthropicInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Traces ``anthropic`` client calls as OpenTelemetry GenAI CLIENT spans.

    ``AnthropicInstrumentor().instrument(tracer_provider=..., keep_sdk_spans=False)`` patches
    the client classes; ``uninstrument()`` restores them. Instrumenting twice is a no-op.
    """

    _sdk_spans = SdkSpanSwitch()

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("anthropic >= 0.30",)

    def _instrument(self, **kwargs: Any) -> None:
        from anthropic import _base_client

        tracer = trace.get_tracer(__name__, VERSION, kwargs.get("tracer_provider"))
        around = self._sdk_spans.suppressed
        if not kwargs.get("keep_sdk_spans", False):
            self._sdk_spans.install(_base_client.BaseClient)
        wrap_function_wrapper(
            _base_client, "SyncAPIClient.request", sync_request_wrapper(tracer, route, around)
        )
        wrap_function_wrapper(
            _base_client, "AsyncAPIClient.request", async_request_wrapper(tracer, route, around)
        )

    def _uninstrument(self, **kwargs: Any) -> None:
        from anthropic import _base_client

        unwrap(_base_client.SyncAPIClient, "request")
        unwrap(_base_client.AsyncAPIClient, "request")
        self._sdk_spans.uninstall(_base_client.BaseClient)
