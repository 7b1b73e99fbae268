"""The HTTP-layer hook: record each LLM call's responses, and answer replayed calls from the index.

Every provider client spanflow instruments sends its requests through ``httpx`` or its fork
``httpx2`` (``openai`` >= 3 and ``anthropic`` >= 1 use ``httpx2``), so one wrapper around
``Client.send``/``AsyncClient.send`` of each serves every provider, sync, async and streamed,
without knowing any provider's API. A request is handled only while an instrumented LLM call's
span is current (the instrumentors make it current while the client sends); every other request
goes through untouched. Failures here are logged once and never change what the client returns.
"""

from __future__ import annotations

import datetime
import importlib
import threading
from typing import Any

from wrapt import wrap_function_wrapper

from spanflow._internal.guard import report_internal_error
from spanflow.replaying import _aiohttp, _state
from spanflow.replaying._call_site import CallSite, current_call
from spanflow.replaying._exchange import Exchange, canonical_request_hash
from spanflow.replaying._recorder import CallRecorder, recorder_for, recording_enabled
from spanflow.replaying._streams import stream_classes

_TRANSPORT_MODULES = ("httpx2", "httpx")
# The client class each flavour was wrapped on: a module imported afresh (test tools that
# restore sys.modules do that) has a new, unwrapped class and is wrapped again.
_installed: dict[str, type[Any]] = {}
_install_lock = threading.Lock()


def install() -> None:
    """Wrap ``send`` of every installed httpx flavour (idempotent)."""
    with _install_lock:
        for name in _TRANSPORT_MODULES:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            if _installed.get(name) is module.Client:
                continue
            wrap_function_wrapper(module, "Client.send", _sync_send_wrapper(module))
            wrap_function_wrapper(module, "AsyncClient.send", _async_send_wrapper(module))
            _installed[name] = module.Client
    _aiohttp.register()


def _request_key(call: CallSite, request: Any) -> str:
    body = getattr(request, "content", b"")
    return canonical_request_hash(
        call.provider, str(request.method), str(request.url.path), body, operation=call.operation
    )


def _prepare(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[CallSite, str, Any] | None:
    """The call, its request key and the request, when this send belongs to an LLM call that
    records or replays."""
    try:
        call = current_call()
        if call is None or (_state.active_session() is None and not recording_enabled()):
            return None  # not an LLM call, or nothing to record or replay: no key to compute
        request = args[0] if args else kwargs["request"]
        return call, _request_key(call, request), request
    except Exception:
        report_internal_error("reading a request for replay")
        return None


def _sync_send_wrapper(module: Any) -> Any:
    def send(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        prepared = _prepare(args, kwargs)
        if prepared is None:
            return wrapped(*args, **kwargs)
        call, key, request = prepared
        streamed = bool(kwargs.get("stream", False))
        served = _serve(module, call, key, request)
        if served is not None:
            if not streamed:
                served.read()
            return served
        recorder = _recorder(call, key)
        if recorder is None:
            return wrapped(*args, **kwargs)
        try:
            response = wrapped(*args, **kwargs)
        except Exception as error:
            recorder.add_error(error)
            raise
        _observe(module, recorder, response, streamed)
        return response

    return send


def _async_send_wrapper(module: Any) -> Any:
    async def send(
        wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        prepared = _prepare(args, kwargs)
        if prepared is None:
            return await wrapped(*args, **kwargs)
        call, key, request = prepared
        streamed = bool(kwargs.get("stream", False))
        served = _serve(module, call, key, request, is_async=True)
        if served is not None:
            if not streamed:
                await served.aread()
            return served
        recorder = _recorder(call, key)
        # Handled here: an aiohttp transport under this client (LiteLLM's) is not a second call.
        token = _aiohttp.inside_httpx_send.set(True)
        try:
            if recorder is None:
                return await wrapped(*args, **kwargs)
            try:
                response = await wrapped(*args, **kwargs)
            except Exception as error:
                recorder.add_error(error)
                raise
        finally:
            _aiohttp.inside_httpx_send.reset(token)
        _observe(module, recorder, response, streamed, is_async=True)
        return response

    return send


def _serve(
    module: Any, call: CallSite, key: str, request: Any, *, is_async: bool = False
) -> Any | None:
    """A response built from the recording for this call, or None to send it for real.

    Raises:
        ReplayMiss: the active replay fails on requests it has no recording for.
    """
    session = _state.active_session()
    if session is None:
        return None
    try:
        exchange = session.answer(call, key)  # raises ReplayMiss on purpose under miss="error"
    except Exception:
        report_internal_error("matching a request to the recorded run", call.span)
        return None
    if exchange is None:
        return None
    recorder = _recorder(call, key)
    if recorder is not None:
        try:
            recorder.add(exchange)  # a replay is itself replayable
        except Exception:
            report_internal_error("recording a replayed response", call.span)
    if exchange.error_type is not None:  # the recorded call failed without a response
        error_class = getattr(module, exchange.error_type, None)
        if not (isinstance(error_class, type) and issubclass(error_class, module.TransportError)):
            error_class = module.TransportError
        raise error_class(exchange.error_message, request=request)
    return _response(module, request, exchange, is_async=is_async)


def _response(module: Any, request: Any, exchange: Exchange, *, is_async: bool) -> Any:
    sync_class, async_class = stream_classes(module)
    stream_class = async_class if is_async else sync_class
    stream = stream_class(exchange.chunks, complete=exchange.complete)
    response = module.Response(
        exchange.status, headers=list(exchange.headers), stream=stream, request=request
    )
    response.elapsed = datetime.timedelta(0)
    return response


def _recorder(call: CallSite, key: str) -> CallRecorder | None:
    try:
        return recorder_for(call.span, key)
    except Exception:
        report_internal_error("starting a response recording", call.span)
        return None


def _observe(
    module: Any, recorder: CallRecorder, response: Any, streamed: bool, *, is_async: bool = False
) -> None:
    try:
        recorder.observe(module, response, streamed=streamed, is_async=is_async)
    except Exception:
        report_internal_error("recording a response", recorder.span)
