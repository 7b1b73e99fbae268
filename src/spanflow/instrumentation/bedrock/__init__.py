"""Amazon Bedrock Runtime through boto3: ``converse``, ``converse_stream``, ``invoke_model``
and ``invoke_model_with_response_stream`` as GenAI CLIENT spans (``aws.bedrock``).

boto3 builds its client classes at run time, so there is no method per operation to patch
ahead of time. Every operation of every client goes through ``BaseClient._make_api_call``
(``botocore.client``), which this hooks once: calls of the ``bedrock-runtime`` service are
traced, everything else goes straight through. botocore's retries stay inside the one span.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace

from spanflow.instrumentation._facts import ApiAdapter
from spanflow.instrumentation._instrumentor import Hook, LLMInstrumentor, Wrapper
from spanflow.instrumentation._method import CallSite, argument, sync_call_wrapper, url_server
from spanflow.instrumentation.bedrock._converse import PROVIDER, ConverseAdapter
from spanflow.instrumentation.bedrock._invoke import InvokeModelAdapter
from spanflow.instrumentation.bedrock._response import complete_bedrock_call

__all__ = ["BedrockInstrumentor"]

_SERVICE = "bedrock-runtime"
_CONVERSE = ConverseAdapter()
_STREAMED = {"Converse": False, "ConverseStream": True}
_STREAMED_INVOKE = {"InvokeModel": False, "InvokeModelWithResponseStream": True}


def _adapter(operation: Any, params: Mapping[str, Any]) -> tuple[ApiAdapter, bool] | None:
    if operation in _STREAMED:
        return _CONVERSE, _STREAMED[operation]
    if operation in _STREAMED_INVOKE:
        adapter = InvokeModelAdapter(params.get("modelId"))
        return adapter, _STREAMED_INVOKE[operation]
    return None


def _locate(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallSite | None:
    operation = argument(args, kwargs, 0, "operation_name")
    params = argument(args, kwargs, 1, "api_params")
    found = _adapter(operation, params) if isinstance(params, Mapping) else None
    if found is None:
        return None
    meta = getattr(instance, "meta", None)
    if getattr(getattr(meta, "service_model", None), "service_name", None) != _SERVICE:
        return None
    adapter, stream = found
    address, port = url_server(getattr(meta, "endpoint_url", None))
    return CallSite(adapter, params, stream, PROVIDER, address, port)


def _wrapper(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return sync_call_wrapper(tracer, _locate, complete_bedrock_call)


class BedrockInstrumentor(LLMInstrumentor):
    """Traces boto3 ``bedrock-runtime`` model calls as GenAI CLIENT spans."""

    dependencies = ("botocore >= 1.34",)
    hooks = (Hook("botocore.client", "BaseClient._make_api_call", _wrapper),)
