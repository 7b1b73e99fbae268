"""LLM requests sent through ``aiohttp``: replay can neither record nor answer them, and says so.

Replay works at the ``httpx`` layer. ``google-genai``'s async client sends through ``aiohttp``
whenever it is installed, so those calls would go to the provider unnoticed in a replay, even
under ``miss="error"``. This hook makes them visible instead: a recorded run marks such a call
``spanflow.replay.unsupported`` (with why), and a replay counts it as a live call with that
reason, or fails it with :class:`~spanflow.replaying.ReplayMiss` under ``miss="error"``.
Requests an ``httpx`` client sends over an ``aiohttp`` transport (LiteLLM's) were already
handled by the ``httpx`` hook and pass through untouched.
"""

from __future__ import annotations

import contextvars
import json
import threading
from typing import Any
from urllib.parse import urlsplit

import wrapt

from spanflow import attributes
from spanflow._internal.guard import report_internal_error
from spanflow.replaying import _state
from spanflow.replaying._call_site import current_call
from spanflow.replaying._exchange import canonical_request_hash
from spanflow.replaying._recorder import recording_enabled

inside_httpx_send: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "spanflow_replay_inside_httpx_send", default=False
)
"""True while the ``httpx`` hook sends a request (its transport may be ``aiohttp``)."""

_registered = False
_register_lock = threading.Lock()
_HTTPX_HINT = {
    "gcp.gemini": (
        "; give google-genai an httpx client to make it replayable: "
        "genai.Client(http_options={'httpx_async_client': httpx.AsyncClient()})"
    ),
}
_HTTPX_HINT["gcp.vertex_ai"] = _HTTPX_HINT["gcp.gemini"]


def register() -> None:
    """Wrap ``aiohttp.ClientSession._request`` when (or as soon as) aiohttp is imported."""
    global _registered
    with _register_lock:
        if _registered:
            return
        _registered = True
    wrapt.register_post_import_hook(_wrap, "aiohttp")


def unsupported_reason(provider: str) -> str:
    """Why a call of ``provider`` sent through aiohttp has no recording."""
    return (
        f"{provider or 'this provider'}'s client sent it through aiohttp, which spanflow replay "
        f"neither records nor answers{_HTTPX_HINT.get(provider, '')}"
    )


def _wrap(module: Any) -> None:
    wrapt.wrap_function_wrapper(module, "ClientSession._request", _request_wrapper)


async def _request_wrapper(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    _observe(args, kwargs)  # raises ReplayMiss on purpose under miss="error"
    return await wrapped(*args, **kwargs)


def _observe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    try:
        if inside_httpx_send.get():
            return
        call = current_call()
        if call is None:
            return
        reason = unsupported_reason(call.provider)
        key = _request_key(call.provider, call.operation, args, kwargs)
        if recording_enabled():
            call.span.set_attribute(attributes.REPLAY_REQUEST, key)
            call.span.set_attribute(attributes.REPLAY_UNSUPPORTED, reason)
        session = _state.active_session()
    except Exception:
        report_internal_error("reading an aiohttp request for replay")
        return
    if session is not None:
        session.answer(call, key, unanswerable=reason)


def _request_key(
    provider: str, operation: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str:
    """The canonical request hash of ``ClientSession._request(method, url, data=, json=)``."""
    method = str(args[0] if args else kwargs.get("method", ""))
    url = urlsplit(str(args[1] if len(args) > 1 else kwargs.get("str_or_url", "")))
    data = kwargs.get("data")
    if kwargs.get("json") is not None:
        body = json.dumps(kwargs["json"]).encode("utf-8")
    elif isinstance(data, str):
        body = data.encode("utf-8")
    elif isinstance(data, bytes | bytearray):
        body = bytes(data)
    else:
        body = b""
    return canonical_request_hash(provider, method, url.path, body, operation=operation)
