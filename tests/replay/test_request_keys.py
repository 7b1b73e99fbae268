"""Replay request keys: the values earlier versions computed, so their recordings still serve."""

from __future__ import annotations

import hashlib
import json
import random
import struct
from pathlib import Path
from typing import Any

import pytest

import spanflow
from spanflow import attributes
from spanflow.replaying import _exchange, _transport
from spanflow.replaying._exchange import VOLATILE_BODY_FIELDS, canonical_request_hash
from spanflow.testing.fake_llm import FakeLLMServer, Reply

# Keys the previous implementation (stdlib parse and ``json.dumps`` of the whole request)
# computed for these requests: recordings carrying them must keep being found.
PREVIOUS_KEYS = [
    (
        ("openai", "POST", "/v1/chat/completions", "chat"),
        '{"messages":[{"role":"user","content":"Caf\xc3\xa9 \xe2\x80\xa8 \\u0007 ok"}],'
        '"model":"m","temperature":0.7,"top_p":1e-07,"user":"u-1"}',
        "825dbea7c4c1ecd2f4a161b5c7d61afd",
    ),
    (
        ("anthropic", "POST", "/v1/messages", "chat"),
        '{"max_tokens":256,"model":"m","messages":[{"role":"user","content":"hi"}],'
        '"metadata":{"user_id":"x"},"seed":18446744073709551616}',
        "2691c0a8866a8829303b5acc4d169150",
    ),
    (
        ("openai", "POST", "/v1/embeddings", "embeddings"),
        '{"input":["\\ud800 lone"],"model":"e","dimensions":1E2}',
        "a9a9d61c81ccca94c1c0f824e7ca48fe",
    ),
    (
        ("openai", "post", "/v1/x", ""),
        '{"a":NaN,"b":-Infinity,"nested":{"z":[1.5e300,-0.0,100.0],"a":true}}',
        "a90914d2726bcaff81781bb1f6295d8a",
    ),
    (("openai", "GET", "/v1/models", ""), "", "beb75e1f57be155868dabafcef905237"),
    (("openai", "POST", "/v1/x", ""), "not json \xff", "222091820fae60e32b901fc409c2ef5e"),
]


def previous_request_hash(
    provider: str, method: str, path: str, body: bytes, *, operation: str = ""
) -> str:
    """The key as the previous version computed it, for recordings made the old way."""
    parsed: Any = None
    if body:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = body.decode("latin-1")
        if isinstance(parsed, dict):
            parsed = {k: v for k, v in parsed.items() if k not in VOLATILE_BODY_FIELDS}
    canonical = json.dumps(
        [provider, operation, method.upper(), path, parsed],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.blake2b(canonical.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@pytest.mark.parametrize(("call", "body", "key"), PREVIOUS_KEYS)
def test_request_keys_are_the_ones_earlier_versions_recorded(
    call: tuple[str, str, str, str], body: str, key: str
) -> None:
    """Floats, NaN, huge ints, lone surrogates, non-JSON and empty bodies keep their old keys."""
    provider, method, path, operation = call
    raw = body.encode("latin-1")
    assert canonical_request_hash(provider, method, path, raw, operation=operation) == key


def test_request_keys_are_the_stdlib_ones_for_every_number_text() -> None:
    """Numbers orjson may read and write otherwise than the stdlib (exponents, the edges of the
    plain range, integers beyond 64 bits) keep the keys the stdlib-only code computed."""
    draw = random.Random(15)
    numbers: list[float | int] = [1e-4, 9.999e-05, 1e-05, 1e16, 9999999999999998.0, 0.1, -0.0]
    numbers += [0.0, 5e-324, 1.7976931348623157e308, 2**63 - 1, 2**63, 2**64, -(2**63) - 1]
    for _ in range(400):
        drawn = struct.unpack("<d", struct.pack("<Q", draw.getrandbits(64)))[0]
        if drawn == drawn and abs(drawn) != float("inf"):
            numbers.append(drawn)
        numbers.append(draw.uniform(-1, 1) * 10 ** draw.randint(-6, 18))
    for number in numbers:
        texts = [repr(number)]
        if isinstance(number, float):
            texts += [f"{number:.17g}", f"{number:.20e}", f"{number:.25f}".rstrip("0") + "0"]
        for text in texts:
            body = f'{{"model":"m","temperature":{text},"n":[{text},{{"x":{text}}}]}}'.encode()
            call = ("openai", "POST", "/v1/chat/completions")
            assert canonical_request_hash(*call, body) == previous_request_hash(*call, body), text


@pytest.mark.parametrize(
    "body",
    [
        "1e-05",  # a whole body that is one number: not walked as a container
        "1e+16",
        "0.5",
        "12",
        '"text"',
        "[1e-05]",
        "[[[],[{}]],[[0.5,[1e-7]]]]",  # the unsure float deep under lists only
        '[{"a":["x",{"b":[1e20]}]}]',
        '{"user":"u","metadata":{"t":1e-9},"model":"m"}',  # unsure only in dropped fields
        '{"metadata":{"t":1},"prompt_cache_key":"k","model":"m"}',  # volatile fields dropped
        '{"model":"m","messages":[{"role":"user","content":"1e-05 in a string"}]}',
        "{}",
        "[]",
    ],
)
def test_request_keys_of_every_body_shape_are_the_previous_ones(body: str) -> None:
    """Scalars, nested lists, floats the stdlib writes otherwise anywhere in the document, and
    bodies with or without volatile fields keep the keys the stdlib-only code computed."""
    call = ("openai", "POST", "/v1/chat/completions")
    raw = body.encode()
    assert canonical_request_hash(*call, raw) == previous_request_hash(*call, raw)


def test_request_keys_ignore_key_order_spacing_and_volatile_fields() -> None:
    """Two sends of the same request differing only in layout and end-user fields share a key."""
    first = b'{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.25}'
    second = (
        b'{ "temperature" : 0.25, "user": "someone",\n'
        b'  "messages": [{"content": "hi", "role": "user"}], "model": "m" }'
    )
    keys = {
        canonical_request_hash("openai", "POST", "/v1/chat/completions", b) for b in (first, second)
    }
    assert len(keys) == 1
    assert keys != {canonical_request_hash("openai", "POST", "/v1/chat/completions", b"{}")}


def test_a_run_recorded_with_the_previous_keys_replays_without_a_server(
    index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chat call recorded by the previous key code (floats, non-ASCII history) is served."""
    messages = [
        {"role": "system", "content": "Réponds brièvement. ✓"},
        {"role": "user", "content": "Quelle heure est-il ?"},
    ]

    def ask(base_url: str, name: str) -> str:
        from openai import OpenAI

        client = OpenAI(base_url=base_url, api_key="sk-test-not-a-key", max_retries=0)
        with client, spanflow.run(name):
            reply = client.chat.completions.create(
                model="fake-model", messages=messages, temperature=0.3, top_p=1e-05
            )
        return reply.choices[0].message.content or ""

    with monkeypatch.context() as old_code:
        old_code.setattr(_transport, "canonical_request_hash", previous_request_hash)
        with FakeLLMServer([Reply(text="Il est midi.")]) as llm:
            answer = ask(llm.openai_base_url, "recorded")
    assert answer == "Il est midi."
    spanflow.force_flush()
    with spanflow.Client(index) as client:
        run = next(r for r in client.list_runs().runs if r.name == "recorded")
        recorded_keys = [
            s.attributes[attributes.REPLAY_REQUEST]
            for s in client.spans(run.id)
            if attributes.REPLAY_REQUEST in s.attributes
        ]
    assert len(recorded_keys) == 1
    assert _transport.canonical_request_hash is _exchange.canonical_request_hash

    with spanflow.replay(run.id, miss="error") as session:
        again = ask("http://127.0.0.1:9/v1", "replayed")

    assert again == answer
    assert session.summary().served == 1
