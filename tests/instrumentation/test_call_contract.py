"""The provider-neutral contract of a traced LLM call, checked once for every API in the table.

Provider errors and broken streams reach the caller as they would without spanflow and fail
the call's one span; sync and async calls give the same span; a stream closed early or
abandoned ends its span exactly once. Provider files test only how each API is mapped.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation

from spanflow import attributes as attr
from spanflow.testing import FakeLLMServer, SpanCapture, SpanRecord
from spanflow.testing.fake_llm import Disconnect, Reply, ServerError, Turn
from tests.instrumentation.apis import (
    APIS,
    GENERATION_CASES,
    MATRIX_WARNINGS,
    Api,
    call,
)
from tests.instrumentation.helpers import llm_spans, only_llm_span

pytestmark = MATRIX_WARNINGS

STREAMED_TEXT = "one two three four five six seven eight"
# Differ between two identical calls by nature: ids the server makes up, and timings. The replay
# recording holds the client's own headers (its user agent names the async client), and
# google-genai's async client goes through aiohttp, which replay says it cannot record.
VOLATILE = {attr.GEN_AI_RESPONSE_ID, attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK}
VOLATILE_PREFIX = "spanflow.replay."
# botocore leaves the socket of a stream dropped unread to the garbage collector, traced or not.
BOTOCORE_LEAKS = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
ABANDONED_CASES = [
    pytest.param(api, id=api.name, marks=BOTOCORE_LEAKS if api.name.startswith("bedrock") else ())
    for api in APIS
    if api.open_stream is not None
]
ASYNC_ABANDONED_CASES = [
    pytest.param(api, id=api.name) for api in APIS if api.adrop_stream is not None
]
CLOSED_CASES = [pytest.param(api, id=api.name) for api in APIS if api.open_stream is not None]


def _raised(api: Api, llm: FakeLLMServer, fault: Turn, stream: bool, use_async: bool) -> Any:
    llm.add_replies(fault)
    with pytest.raises(Exception) as raised:
        call(api, llm, stream, use_async)
    return raised.value


def _what_it_says(error: BaseException) -> Any:
    # Some errors print response headers (a Date) or the peer's port; status and body do not move.
    if hasattr(error, "body") and hasattr(error, "status_code"):
        return (error.status_code, error.body)
    return str(error)


def _assert_failed_with(span: SpanRecord, error: BaseException) -> None:
    assert span.status == "ERROR"
    assert span.attributes[attr.ERROR_TYPE] == type(error).__qualname__
    assert [event.name for event in span.events] == ["exception"]
    assert span.events[0].attributes["exception.type"].endswith(type(error).__name__)
    assert attr.INTERNAL_ERROR not in span.attributes


@pytest.mark.parametrize(("api", "stream", "use_async"), GENERATION_CASES)
def test_a_provider_error_reaches_the_caller_unchanged_and_fails_the_span(
    traced: SpanCapture, llm: FakeLLMServer, api: Api, stream: bool, use_async: bool
) -> None:
    """A 500 raises the client's own exception, as untraced, and the one span records it."""
    fault = ServerError(status=500, message="provider says no")
    with suppress_instrumentation():
        untraced = _raised(api, llm, fault, stream, use_async)
    assert llm_spans(traced) == []
    error = _raised(api, llm, fault, stream, use_async)
    assert type(error) is type(untraced)
    assert _what_it_says(error) == _what_it_says(untraced)
    _assert_failed_with(only_llm_span(traced), error)


@pytest.mark.parametrize(
    ("api", "stream", "use_async"), [case for case in GENERATION_CASES if case.values[1]]
)
def test_a_stream_cut_midway_raises_the_clients_error_and_fails_the_span_once(
    traced: SpanCapture, llm: FakeLLMServer, api: Api, stream: bool, use_async: bool
) -> None:
    """A connection dropped mid-stream raises what it raises untraced and fails the one span."""
    with suppress_instrumentation():
        untraced = _raised(api, llm, Disconnect(after_events=1), stream, use_async)
    error = _raised(api, llm, Disconnect(after_events=1), stream, use_async)
    assert type(error) is type(untraced)
    _assert_failed_with(only_llm_span(traced), error)


@pytest.mark.parametrize(
    ("api", "stream"),
    [
        pytest.param(api, stream, id=f"{api.name}-{'stream' if stream else 'plain'}")
        for api in APIS
        if api.asyncs
        for stream in ((False, True) if api.open_stream is not None else (False,))
    ],
)
def test_the_async_client_gives_the_same_span_as_the_sync_one(
    traced: SpanCapture, llm: FakeLLMServer, api: Api, stream: bool
) -> None:
    """Sync and async calls return the same result and make the same span, value for value."""
    assert call(api, llm, stream, use_async=True) == call(api, llm, stream, use_async=False)
    async_span, sync_span = llm_spans(traced)
    assert async_span.name == sync_span.name
    assert async_span.kind == sync_span.kind
    assert async_span.status_code == sync_span.status_code
    assert _stable(async_span) == _stable(sync_span)


def _stable(span: SpanRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in span.attributes.items()
        if key not in VOLATILE and not key.startswith(VOLATILE_PREFIX)
    }


def _read_one_event(api: Api, llm: FakeLLMServer) -> Any:
    """A streamed call of ``api`` with its first event read and the rest left unread."""
    assert api.open_stream is not None
    llm.add_replies(Reply(STREAMED_TEXT))
    stream = api.open_stream(llm)
    next(iter(stream))
    return stream


@pytest.mark.parametrize("api", ABANDONED_CASES)
def test_an_abandoned_stream_ends_its_span_once_when_collected(
    traced: SpanCapture, llm: FakeLLMServer, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """A stream dropped after its first event ends its span once, marked abandoned, not failed,
    and nothing (its response recording included) is written to the span after it ended."""
    stream = _read_one_event(api, llm)
    assert llm_spans(traced) == []
    del stream
    gc.collect()
    span = only_llm_span(traced)
    assert span.attributes[attr.STREAM_ABANDONED] is True
    assert span.status == "UNSET"
    assert not [r for r in caplog.records if "ended span" in r.getMessage()]


@pytest.mark.parametrize("api", ASYNC_ABANDONED_CASES)
def test_an_abandoned_async_stream_ends_its_span_once_when_collected(
    traced: SpanCapture, llm: FakeLLMServer, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """An async stream dropped after its first event ends its span once, marked abandoned, and
    closing its response later (when the event loop shuts down) writes nothing to that span."""
    assert api.adrop_stream is not None
    llm.add_replies(Reply(STREAMED_TEXT))
    asyncio.run(api.adrop_stream(llm))
    gc.collect()
    span = only_llm_span(traced)
    assert span.attributes[attr.STREAM_ABANDONED] is True
    assert span.status == "UNSET"
    assert not [r for r in caplog.records if "ended span" in r.getMessage()]


@pytest.mark.parametrize("api", CLOSED_CASES)
def test_a_stream_closed_early_ends_its_span_once(
    traced: SpanCapture, llm: FakeLLMServer, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """close() ends the span; closing again or collecting the stream adds no second end and
    nothing is written to the span after it ended."""
    stream = _read_one_event(api, llm)
    stream.close()
    stream.close()
    del stream
    gc.collect()
    span = only_llm_span(traced)
    assert attr.STREAM_ABANDONED not in span.attributes
    assert span.status == "UNSET"
    assert not [r for r in caplog.records if "ended span" in r.getMessage()]
