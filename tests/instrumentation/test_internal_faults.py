"""spanflow's own failures never change what a traced call returns or raises.

Each test makes one piece of spanflow's instrumentation raise (reading the request, reading the
response, following a stream, the dataflow seam) and checks, for every API, sync and async,
streamed and not, that the user's call gives exactly what it gives uninstrumented, and that the
failure is logged once.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from spanflow import attributes as attr
from spanflow import dataflow
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import ServerError
from tests.instrumentation.apis import CASES, GENERATION_CASES, MATRIX_WARNINGS, Api, call
from tests.instrumentation.helpers import llm_spans

pytestmark = MATRIX_WARNINGS


class Boom(Exception):
    """The failure injected into spanflow's own code."""


def _boom(*_: Any, **__: Any) -> Any:
    raise Boom("injected into spanflow")


def _fault_points(api: Api, stream: bool) -> list[str]:
    points = ["read_request", "read_response", "dataflow.on_call_start", "dataflow.on_call_end"]
    if stream:
        points += ["new_accumulator", "accumulator.add", "accumulator.response"]
    return points


def _inject(monkeypatch: pytest.MonkeyPatch, api: Api, point: str) -> None:
    if point.startswith("dataflow."):
        monkeypatch.setattr(dataflow, point.split(".", 1)[1], _boom)
    elif point.startswith("accumulator."):
        method = point.split(".", 1)[1]
        real_new = api.adapter.new_accumulator

        def new_failing_accumulator(self: Any) -> Any:
            accumulator = real_new(self)
            setattr(accumulator, method, _boom)
            return accumulator

        monkeypatch.setattr(api.adapter, "new_accumulator", new_failing_accumulator)
    else:
        monkeypatch.setattr(api.adapter, point, _boom)


@pytest.mark.parametrize(("api", "stream", "use_async"), CASES)
def test_a_failure_anywhere_in_spanflow_leaves_the_result_unchanged(
    traced: SpanCapture,
    llm: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    api: Api,
    stream: bool,
    use_async: bool,
) -> None:
    """With each internal piece failing in turn, the call returns what it returns untraced."""
    from spanflow._internal import guard as _guard

    expected = call(api, llm, stream, use_async)  # traced, nothing failing
    for point in _fault_points(api, stream):
        with monkeypatch.context() as patch, caplog.at_level(logging.WARNING):
            _inject(patch, api, point)
            _guard.reset_reported()
            caplog.clear()
            before = len(llm_spans(traced))
            first = call(api, llm, stream, use_async)
            second = call(api, llm, stream, use_async)
        assert first == expected, point
        assert second == expected, point
        spans = llm_spans(traced)[before:]
        if point == "read_request":  # nothing to start a span from: the calls go untraced
            assert spans == [], point
        else:  # the span still ends, marked with where spanflow failed
            assert len(spans) == 2, point
            assert all(attr.INTERNAL_ERROR in span.attributes for span in spans), point
        failures = [r for r in caplog.records if "internal error" in r.getMessage()]
        assert len(failures) == 1, (point, [r.getMessage() for r in failures])
        assert failures[0].exc_info is not None
        assert isinstance(failures[0].exc_info[1], Boom)


def _what_it_says(error: BaseException) -> Any:
    # Cohere's errors print the response headers, whose Date changes between two calls.
    if hasattr(error, "body") and hasattr(error, "status_code"):
        return (error.status_code, error.body)
    return str(error)


@pytest.mark.parametrize(("api", "stream", "use_async"), GENERATION_CASES)
def test_a_failure_in_spanflow_leaves_provider_errors_unchanged(
    traced: SpanCapture,
    llm: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
    api: Api,
    stream: bool,
    use_async: bool,
) -> None:
    """A provider error still reaches the caller as the client's own exception type and text."""
    llm.add_replies(ServerError(status=500, message="provider says no"))
    with pytest.raises(Exception) as untouched:
        call(api, llm, stream, use_async)
    for point in _fault_points(api, stream):
        with monkeypatch.context() as patch:
            _inject(patch, api, point)
            llm.add_replies(ServerError(status=500, message="provider says no"))
            with pytest.raises(type(untouched.value)) as raised:
                call(api, llm, stream, use_async)
        assert _what_it_says(raised.value) == _what_it_says(untouched.value), point
        assert not isinstance(raised.value, Boom)
