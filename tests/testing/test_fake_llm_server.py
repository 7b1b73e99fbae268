"""Server behaviour users rely on: recording, responders, connection reuse, lifecycle, CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from spanflow.testing import FakeLLMServer
from spanflow.testing.fake_llm import FakeRequest, Reply, ToolCall


def test_requests_are_recorded_with_body_headers_and_digest(
    llm: FakeLLMServer, openai_client: openai.OpenAI
) -> None:
    """Each request is kept with its path, headers, JSON body and conversation digest."""
    openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "system", "content": "Be terse"}, {"role": "user", "content": "Hi"}],
        tools=[{"type": "function", "function": {"name": "lookup", "parameters": {}}}],
    )
    (request,) = llm.requests
    assert request.path == "/v1/chat/completions"
    assert request.api == "chat.completions"
    assert request.headers["authorization"] == "Bearer test"
    assert request.model == "gpt-4o"
    assert request.tool_names == ("lookup",)
    assert [(m.role, m.text) for m in request.messages] == [("system", "Be terse"), ("user", "Hi")]
    assert request.last_user_text == "Hi"


def test_responder_function_decides_each_reply() -> None:
    """A function of the request can answer with text or tool calls."""

    def responder(request: FakeRequest) -> Reply | str:
        if "weather" in request.last_user_text:
            return Reply(tool_calls=[ToolCall("weather", {"city": "Rome"})])
        return request.last_user_text.upper()

    with (
        FakeLLMServer(responder) as llm,
        openai.OpenAI(base_url=llm.openai_base_url, api_key="t") as client,
    ):
        shout = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "quiet"}]
        )
        tool = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "weather?"}]
        )
    assert shout.choices[0].message.content == "QUIET"
    assert tool.choices[0].message.tool_calls is not None


def test_connections_are_kept_alive_across_requests(
    llm: FakeLLMServer, openai_client: openai.OpenAI
) -> None:
    """Consecutive requests from one client reuse a single HTTP/1.1 connection."""
    messages = [{"role": "user", "content": "x"}]
    for _ in range(3):
        openai_client.chat.completions.create(model="m", messages=messages)
    # A stream read to its end over the same connection (the client closes it after [DONE]).
    list(openai_client.chat.completions.create(model="m", messages=messages, stream=True))
    peers = {request.peer for request in llm.requests}
    assert len(llm.requests) == 4
    assert len(peers) == 1


def test_reset_forgets_requests_script_and_responses(
    llm: FakeLLMServer, openai_client: openai.OpenAI
) -> None:
    """reset() clears what was recorded, the remaining script and stored responses."""
    llm.add_replies("a", "b")
    response = openai_client.responses.create(model="m", input="x")
    llm.reset()
    assert llm.requests == [] and llm.pending_replies == 0
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.retrieve(response.id)


def test_unknown_endpoint_is_a_404(llm: FakeLLMServer, openai_client: openai.OpenAI) -> None:
    """Endpoints the fake does not implement answer 404 rather than something misleading."""
    with pytest.raises(openai.NotFoundError):
        openai_client.images.generate(prompt="a cat", model="dall-e-3")


def test_wait_for_requests_times_out_when_nothing_arrives(llm: FakeLLMServer) -> None:
    """wait_for_requests raises TimeoutError instead of hanging."""
    with pytest.raises(TimeoutError):
        llm.wait_for_requests(1, timeout_s=0.05)


def test_port_is_released_after_stop() -> None:
    """After the with block, the port can be bound again and the properties refuse use."""
    with FakeLLMServer() as llm:
        port = llm.port
    with FakeLLMServer(port=port) as again:
        assert again.port == port
    with pytest.raises(RuntimeError):
        _ = again.url


def test_client_env_points_clients_at_the_server(llm: FakeLLMServer) -> None:
    """client_env() gives base URLs and keys the clients pick up from the environment."""
    env = llm.client_env()
    assert env["OPENAI_BASE_URL"] == llm.openai_base_url
    assert env["ANTHROPIC_BASE_URL"] == llm.anthropic_base_url


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_cli_serves_until_interrupted(tmp_path: Path) -> None:
    """`spanflow fake-llm` prints its URL, answers scripted replies and exits 0 on Ctrl-C."""
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["from the file"]))
    process = subprocess.Popen(
        [sys.executable, "-m", "spanflow.cli", "fake-llm", "--port", "0", "--replies", replies],
        stdout=subprocess.PIPE,
        text=True,
        # Ctrl-C as a terminal delivers it, even when this suite runs with SIGINT ignored (a
        # shell starts background jobs so, and a child inherits the ignored signal).
        preexec_fn=_sigint_default,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        url = first_line.rsplit(" ", 1)[-1].strip()
        with openai.OpenAI(base_url=f"{url}/v1", api_key="t", max_retries=0) as client:
            completion = client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}]
            )
        assert completion.choices[0].message.content == "from the file"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
