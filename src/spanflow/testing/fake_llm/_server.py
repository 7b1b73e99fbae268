"""``FakeLLMServer``: an OpenAI- and Anthropic-compatible LLM server on loopback, for tests."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from spanflow.testing.fake_llm import _anthropic, _openai_chat, _openai_responses, _routes
from spanflow.testing.fake_llm._defaults import default_reply
from spanflow.testing.fake_llm._http import (
    Answer,
    DropConnection,
    FakeHTTPServer,
    JsonAnswer,
    StreamAnswer,
    error_headers,
)
from spanflow.testing.fake_llm._replies import (
    Disconnect,
    Fault,
    MalformedStream,
    RateLimited,
    Reply,
    Responder,
    Script,
    Turn,
    as_reply_or_fault,
)
from spanflow.testing.fake_llm._request import (
    CHAT_COMPLETIONS,
    EMBEDDINGS,
    MESSAGES,
    RESPONSES,
    FakeRequest,
    anthropic_messages,
    chat_messages,
    responses_input_messages,
)
from spanflow.testing.fake_llm._wire import IdSource

logger = logging.getLogger("spanflow.testing.fake_llm")

_ROUTES = {
    "/chat/completions": CHAT_COMPLETIONS,
    "/responses": RESPONSES,
    "/messages": MESSAGES,
    "/embeddings": EMBEDDINGS,
}


class FakeLLMServer:
    """A deterministic LLM server speaking the OpenAI and Anthropic HTTP APIs on loopback.

    Point the real clients at it::

        with FakeLLMServer(["Hello!", Reply(tool_calls=[ToolCall("add", {"a": 1})])]) as llm:
            client = OpenAI(base_url=llm.openai_base_url, api_key="test")
            client.chat.completions.create(model="gpt-4o-mini", messages=[...])
            assert llm.last_request.last_user_text == "..."

    Endpoints: ``POST /v1/chat/completions``, ``/v1/responses`` (plus ``GET``/``DELETE
    /v1/responses/{id}``), ``/v1/embeddings`` and ``/v1/messages``, streamed or not.

    Args:
        replies: Either the turns to answer with, in order (``Reply``, plain strings, or faults
            such as ``RateLimited()``), or a function ``(FakeRequest) -> turn`` called per
            request. Scripted turns are shared by all generation endpoints; embeddings never
            consume them. Once the script is used up, ``default`` answers.
        default: Answers when no script turn is left; by default ``Echo: <last message>``, or a
            JSON document valid for the requested schema when structured output is asked for.
        host: Interface to bind (loopback by default).
        port: Port to bind; 0 picks a free one.
        stream_delay_s: Pause between streamed events (to make streams observably incremental).
    """

    def __init__(
        self,
        replies: Iterable[Turn] | Responder | None = None,
        *,
        default: Responder | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        stream_delay_s: float = 0.0,
    ) -> None:
        self._responder: Responder | None = replies if callable(replies) else None
        self._script = Script(() if replies is None or callable(replies) else replies)
        self._default: Responder = default or default_reply
        self._host = host
        self._requested_port = port
        self._stream_delay_s = stream_delay_s
        self._ids = IdSource()
        self._responses = _openai_responses.ResponseStore()
        self._requests: list[FakeRequest] = []
        self._requests_changed = threading.Condition()
        self._http: FakeHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeLLMServer:
        """Bind and serve in a background thread; returns ``self``."""
        if self._http is not None:
            return self
        self._http = FakeHTTPServer(
            (self._host, self._requested_port), self._dispatch, stream_delay_s=self._stream_delay_s
        )
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"spanflow-fake-llm:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """Stop serving, close client connections and release the port."""
        http, thread = self._http, self._thread
        if http is None:
            return
        http.shutdown()
        http.close_connections(timeout_s=timeout_s)
        http.server_close()
        if thread is not None:
            thread.join(timeout_s)
        self._http = self._thread = None

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (used by ``spanflow fake-llm``)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # Addresses ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (after ``start``)."""
        if self._http is None:
            raise RuntimeError("FakeLLMServer is not started; use `with FakeLLMServer() as llm:`")
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        """Base URL without the API version, e.g. ``http://127.0.0.1:54321``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """``base_url`` for ``openai.OpenAI`` / ``AsyncOpenAI`` (ends in ``/v1``)."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """``base_url`` for ``anthropic.Anthropic`` / ``AsyncAnthropic``."""
        return self.url

    def client_env(self) -> dict[str, str]:
        """Environment variables that point unmodified OpenAI/Anthropic clients here."""
        return {
            "OPENAI_BASE_URL": self.openai_base_url,
            "OPENAI_API_KEY": "sk-fake-key",
            "ANTHROPIC_BASE_URL": self.anthropic_base_url,
            "ANTHROPIC_API_KEY": "sk-ant-fake-key",
        }

    # Script and recording ----------------------------------------------------------------

    def add_replies(self, *turns: Turn) -> None:
        """Append turns to the script (answered before falling back to the default)."""
        self._script.extend(turns)

    @property
    def pending_replies(self) -> int:
        """How many scripted turns are still unanswered."""
        return len(self._script)

    @property
    def requests(self) -> list[FakeRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._requests_changed:
            return list(self._requests)

    @property
    def last_request(self) -> FakeRequest:
        """The newest request; raises ``LookupError`` when none arrived yet."""
        with self._requests_changed:
            if not self._requests:
                raise LookupError("the fake LLM server has not received any request")
            return self._requests[-1]

    def wait_for_requests(self, count: int, *, timeout_s: float = 10.0) -> list[FakeRequest]:
        """Block until at least ``count`` requests arrived; raise ``TimeoutError`` otherwise."""
        with self._requests_changed:
            if not self._requests_changed.wait_for(
                lambda: len(self._requests) >= count, timeout=timeout_s
            ):
                raise TimeoutError(f"{len(self._requests)} of {count} requests within {timeout_s}s")
            return list(self._requests)

    def reset(self) -> None:
        """Forget recorded requests, remaining script turns and stored responses."""
        with self._requests_changed:
            self._requests.clear()
        self._script.clear()
        self._responses.clear()

    # Dispatch (runs in handler threads) ---------------------------------------------------

    def _dispatch(
        self, method: str, target: str, headers: dict[str, str], raw: bytes, peer: str
    ) -> Answer:
        path = urlsplit(target).path.rstrip("/")
        path = path[3:] if path.startswith("/v1/") else path
        if path.startswith("/openai/deployments/"):  # Azure OpenAI's deployment paths
            path = "/" + path.split("/", 4)[-1]
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        if not isinstance(body, Mapping):
            body = {}
        if path.startswith("/responses/") and method in ("GET", "DELETE"):
            self._record(FakeRequest(method, target, headers, body, RESPONSES, peer=peer))
            return self._stored_response(method, path.split("/")[2])
        routed = _routes.match(method, urlsplit(target).path.rstrip("/"))
        if routed is not None:
            return self._dispatch_route(routed, method, target, headers, body, peer)
        api = _ROUTES.get(path, "")
        if not api or method != "POST":
            self._record(FakeRequest(method, target, headers, body, peer=peer))
            return _error_answer("", 404, f"No fake endpoint for {method} {target}", "not_found")
        try:
            request = self._build_request(method, target, headers, body, api, peer)
        except LookupError as missing:
            self._record(FakeRequest(method, target, headers, body, api, peer=peer))
            return _error_answer(api, 400, str(missing.args[0]), "invalid_request_error")
        self._record(request)
        if api == EMBEDDINGS:
            return JsonAnswer(200, _openai_chat.embeddings_body(request))
        try:
            turn = self._next_turn(request)
        except Exception as error:  # the user's responder failed: say so in the answer
            logger.exception("fake LLM responder raised")
            return _error_answer(api, 500, f"fake LLM responder raised {error!r}", "api_error")
        if isinstance(turn, Reply):
            return self._render(request, turn)
        return self._fault_answer(request, turn)

    def _dispatch_route(
        self,
        routed: _routes.Match,
        method: str,
        target: str,
        headers: dict[str, str],
        body: Mapping[str, Any],
        peer: str,
    ) -> Answer:
        route = routed.route
        request = FakeRequest(
            method,
            target,
            headers,
            body,
            route.api,
            tuple(route.messages(body)),
            peer,
            path_model=routed.path_model,
            path_stream=routed.path_stream,
        )
        self._record(request)
        if route.answer_unscripted is not None:
            return route.answer_unscripted(request)
        try:
            turn = self._next_turn(request)
        except Exception as error:  # the user's responder failed: say so in the answer
            logger.exception("fake LLM responder raised")
            return JsonAnswer(
                500, route.error(500, f"fake LLM responder raised {error!r}", "api_error")
            )
        assert route.render is not None
        if isinstance(turn, Reply):
            return route.render(request, turn, self._ids)
        if isinstance(turn, (MalformedStream, Disconnect)):
            if request.stream:
                answer = route.render(request, Reply(text="This stream will break " * 4), self._ids)
                assert isinstance(answer, StreamAnswer)
                return replace(answer, fault=turn)
            if isinstance(turn, Disconnect):
                return DropConnection()
            return JsonAnswer(200, b'{"id": "truncated", "candidates": [{"mess')
        kind = "rate_limit_error" if isinstance(turn, RateLimited) else "api_error"
        status = 429 if isinstance(turn, RateLimited) else turn.status
        headers = error_headers(turn)
        if route.error_headers is not None:
            headers.update(route.error_headers(status))
        return JsonAnswer(status, route.error(status, turn.message, kind), headers)

    def _build_request(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: Mapping[str, Any],
        api: str,
        peer: str,
    ) -> FakeRequest:
        if api == CHAT_COMPLETIONS:
            messages = chat_messages(body)
        elif api == MESSAGES:
            messages = anthropic_messages(body)
        elif api == RESPONSES:
            messages = responses_input_messages(body)
            previous_id = body.get("previous_response_id")
            if previous_id:
                previous = self._responses.get(str(previous_id))
                if previous is None:
                    raise LookupError(f"Previous response with id '{previous_id}' not found.")
                messages = [*previous.conversation, *messages]
        else:
            messages = []
        return FakeRequest(method, target, headers, body, api, tuple(messages), peer)

    def _record(self, request: FakeRequest) -> None:
        with self._requests_changed:
            self._requests.append(request)
            self._requests_changed.notify_all()

    def _next_turn(self, request: FakeRequest) -> Reply | Fault:
        scripted = self._script.pop()
        if scripted is not None:
            return scripted
        turn = (self._responder or self._default)(request)
        return as_reply_or_fault(turn)

    def _render(self, request: FakeRequest, reply: Reply) -> Answer:
        if request.api == CHAT_COMPLETIONS:
            if request.stream:
                return StreamAnswer(_openai_chat.chat_completion_events(request, reply, self._ids))
            return JsonAnswer(200, _openai_chat.chat_completion_body(request, reply, self._ids))
        if request.api == MESSAGES:
            if request.stream:
                return StreamAnswer(_anthropic.message_events(request, reply, self._ids))
            return JsonAnswer(200, _anthropic.message_body(request, reply, self._ids))
        output = _openai_responses.output_items(reply, self._ids)
        body = _openai_responses.response_body(request, reply, self._ids, output=output)
        conversation = _openai_responses.conversation_after(request, body)
        self._responses.put(_openai_responses.StoredResponse(body, conversation))
        if request.stream:
            return StreamAnswer(_openai_responses.response_events(body))
        return JsonAnswer(200, body)

    def _fault_answer(self, request: FakeRequest, fault: Fault) -> Answer:
        if isinstance(fault, (MalformedStream, Disconnect)):
            if request.stream:
                answer = self._render(request, Reply(text="This stream will break " * 4))
                assert isinstance(answer, StreamAnswer)
                return StreamAnswer(answer.events, fault)
            if isinstance(fault, Disconnect):
                return DropConnection()
            return JsonAnswer(200, b'{"id": "truncated", "choices": [{"mess')
        kind = "rate_limit_error" if isinstance(fault, RateLimited) else "api_error"
        status = 429 if isinstance(fault, RateLimited) else fault.status
        return _error_answer(request.api, status, fault.message, kind, error_headers(fault))

    def _stored_response(self, method: str, response_id: str) -> Answer:
        stored = self._responses.get(response_id)
        if stored is None:
            message = f"Response with id '{response_id}' not found."
            return _error_answer(RESPONSES, 404, message, "invalid_request_error")
        if method == "DELETE":
            self._responses.delete(response_id)
            return JsonAnswer(200, {"id": response_id, "object": "response", "deleted": True})
        return JsonAnswer(200, stored.body)


def _error_answer(
    api: str, status: int, message: str, kind: str, headers: dict[str, str] | None = None
) -> JsonAnswer:
    """An error in the provider's own shape (Anthropic's ``type: error`` or OpenAI's ``error``)."""
    if api == MESSAGES:
        body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        code = "rate_limit_exceeded" if status == 429 else None
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JsonAnswer(
        status, body, {**(headers or {}), "x-request-id": f"req_fake_{time.time_ns()}"}
    )
