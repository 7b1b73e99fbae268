"""Anthropic client instrumentation: messages (create, stream=True, ``.stream()``) as GenAI spans.

Hooks ``SyncAPIClient.request`` / ``AsyncAPIClient.request`` in ``anthropic._base_client``,
which ``messages.create``, ``messages.stream()``, ``messages.parse`` and ``beta.messages.*``
(``/v1/messages?beta=true``) all reach. ``AnthropicBedrock`` and ``AnthropicVertex`` clients
are the same classes underneath; their spans are named ``aws.bedrock`` / ``gcp.vertex_ai``.

``anthropic`` traces itself when a global tracer provider exists (a CLIENT span named
``anthropic.messages.create``, scope ``com.anthropic.sdk.python``). For the calls spanflow
traces, spanflow turns that span off so each call has one span; other endpoints keep the SDK's
own spans. ``instrument(keep_sdk_spans=True)`` leaves the SDK's spans on everywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from opentelemetry import trace

from spanflow.instrumentation._facts import ApiAdapter
from spanflow.instrumentation._instrumentor import Hook, LLMInstrumentor, Wrapper
from spanflow.instrumentation._request import async_request_wrapper, sync_request_wrapper
from spanflow.instrumentation.anthropic._messages import MessagesAdapter
from spanflow.instrumentation.anthropic._self_tracing import SdkSpanSwitch

__all__ = ["AnthropicInstrumentor"]

_MESSAGES = MessagesAdapter()
_SDK_SPANS = SdkSpanSwitch()


def route(options: Any) -> ApiAdapter | None:
    """The adapter for a request's options; None for endpoints spanflow does not trace."""
    if str(getattr(options, "method", "")).lower() != "post":
        return None
    path = str(getattr(options, "url", "")).split("?", 1)[0].strip("/")
    return _MESSAGES if path == "v1/messages" else None


def provider_of(client: Any) -> str | None:
    """``aws.bedrock`` / ``gcp.vertex_ai`` for ``AnthropicBedrock`` / ``AnthropicVertex``."""
    name = type(client).__name__
    if "Bedrock" in name:
        return "aws.bedrock"
    if "Vertex" in name:
        return "gcp.vertex_ai"
    return None


def _sync(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return sync_request_wrapper(tracer, route, _SDK_SPANS.suppressed, provider_of)


def _async(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return async_request_wrapper(tracer, route, _SDK_SPANS.suppressed, provider_of)


class AnthropicInstrumentor(LLMInstrumentor):
    """Traces ``anthropic`` client calls as OpenTelemetry GenAI CLIENT spans.

    ``AnthropicInstrumentor().instrument(tracer_provider=..., keep_sdk_spans=False)`` patches
    the client classes (when ``anthropic`` is imported); ``uninstrument()`` restores them.
    Instrumenting twice is a no-op.
    """

    dependencies = ("anthropic >= 0.30",)
    hooks = (
        Hook("anthropic._base_client", "SyncAPIClient.request", _sync),
        Hook("anthropic._base_client", "AsyncAPIClient.request", _async),
    )

    def setup(self, tracer: trace.Tracer, options: Mapping[str, Any]) -> None:
        if not options.get("keep_sdk_spans", False):
            self.on_import("anthropic._base_client", _install_switch)

    def teardown(self) -> None:
        module = _loaded("anthropic._base_client")
        if module is not None:
            _SDK_SPANS.uninstall(module.BaseClient)


def _install_switch(module: ModuleType) -> None:
    _SDK_SPANS.install(module.BaseClient)


def _loaded(name: str) -> ModuleType | None:
    return sys.modules.get(name)
