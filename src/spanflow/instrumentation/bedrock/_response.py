"""What a traced Bedrock call hands back: its streams proxied, an ``invoke_model`` body re-readable.

boto3 answers a dict. A stream (``stream`` of ``converse_stream``, ``body`` of
``invoke_model_with_response_stream``) is an ``EventStream`` that is iterated, not a
``__next__`` iterator, so it gets a proxy that steps through one iterator of it. The
``StreamingBody`` of ``invoke_model`` can be read only once: spanflow reads it when the call
returns and puts back a ``StreamingBody`` over the same bytes, or, when reading failed, one
that raises the same error object when read.
"""

from __future__ import annotations

import io
import json
from typing import Any

from spanflow._internal.guard import report_internal_error
from spanflow.instrumentation._call import LLMCall
from spanflow.instrumentation._stream import SyncStreamProxy


class EventStreamProxy(SyncStreamProxy):
    """A botocore ``EventStream`` whose span ends exactly once (read, closed, failed or GC'd)."""

    @staticmethod
    def _next_source(stream: Any) -> Any:
        # An EventStream can be iterated but is no iterator itself: step through one iterator.
        return iter(stream).__next__


class _FailedRead:
    """The raw stream of a body whose reading failed: reading it raises that error again."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def read(self, *_: Any) -> bytes:
        raise self._error

    def close(self) -> None:
        pass


def complete_bedrock_call(call: LLMCall, result: Any) -> Any:
    """End (or hand over) the span of a returned call; ``result`` is returned, changed in place."""
    try:
        if not isinstance(result, dict):
            call.end_quietly()
        elif call.streamed:
            key = "stream" if "stream" in result else "body"
            accumulator = call.adapter.new_accumulator()
            result[key] = EventStreamProxy(result[key], call, accumulator)
        elif _is_streaming_body(result.get("body")):
            _read_body(call, result)
        else:
            call.succeed(result)
    except Exception:
        report_internal_error("finishing an LLM span", call.span)
        call.end_quietly()
    return result


def _is_streaming_body(value: Any) -> bool:
    # By name: botocore is imported by the application, never by instrumenting.
    return type(value).__name__ == "StreamingBody" and callable(getattr(value, "read", None))


def _read_body(call: LLMCall, result: dict[str, Any]) -> None:
    body = result["body"]
    streaming_body = type(body)
    try:
        data = body.read()
    except Exception as error:  # the provider's error, met by spanflow first: the user's too
        result["body"] = streaming_body(_FailedRead(error), None)
        call.fail(error)
        return
    result["body"] = streaming_body(io.BytesIO(data), len(data))
    try:
        decoded = json.loads(data)
    except ValueError:
        decoded = None
    call.succeed({"body": decoded, "ResponseMetadata": result.get("ResponseMetadata")})
