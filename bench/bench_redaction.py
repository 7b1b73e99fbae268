"""Cost of secret redaction per LLM call, on a typical 13-message chat (no secrets in it).

Reported per call, as the median of several timed loops:

* ``encode``: what content capture costs anyway (each message to JSON, joined), for scale;
* ``redact whole text``: ``Redactor.text`` over the whole ``gen_ai.input.messages`` JSON, every
  message scanned (the collector's cost for one LLM span's messages);
* ``sdk capture``: the SDK's path (``set_json_array``: encode + redact per message, re-sent
  messages remembered) with redaction off and on -- the difference is redaction's cost -- when
  12 of the 13 messages were sent by the previous call, and when all 13 are new (the new-chat
  figure includes building the messages);
* ``collector, one LLM span``: ``redact_spans`` over one span carrying the chat and GenAI
  attributes;
* ``collector ingest``: ``write_spans`` into a SQLite index per LLM span (batches of 256), with
  the ingest redaction and with it replaced by a pass-through -- redaction's share of ingest.

Run: ``.venv/bin/python bench/bench_redaction.py [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from spanflow import attributes as attr
from spanflow._internal import redact
from spanflow.instrumentation import content
from spanflow.instrumentation._messages import set_json_array
from spanflow.query.records import SpanRecord
from spanflow.redaction import DEFAULT_REDACTOR
from spanflow_collector.index import sqlstore
from spanflow_collector.index.sqlite import SqliteRunIndexStore
from spanflow_collector.redact import redact_spans

INGEST_BATCH_SPANS = 256


def typical_chat(turn: int) -> list[dict[str, object]]:
    """A system prompt and six user/assistant turns (13 messages, about 4 KB of JSON)."""
    messages: list[dict[str, object]] = [
        {
            "role": "system",
            "content": "You are a careful research assistant. Answer concisely, cite sources, "
            "and call the search tool when you need fresh facts. Keep answers under 200 words.",
        }
    ]
    for n in range(6):
        messages.append(
            {
                "role": "user",
                "content": f"Question {turn}.{n}: how does the tokenizer split rare words into "
                "tokens, and what is the key difference between BPE and WordPiece? Please "
                f"include an example and a link such as https://example.com/docs/{n}.",
            }
        )
        messages.append(
            {
                "role": "assistant",
                "content": f"Answer {turn}.{n}: BPE merges the most frequent pair of symbols "
                "step by step, while WordPiece picks the merge that most increases the "
                "likelihood of the training data. For example 'unhappiness' may become 'un', "
                "'happi' and 'ness'. The max_tokens setting only limits the reply length. "
                "See the tokenizer documentation for the details of each algorithm.",
            }
        )
    return messages


def per_call_us(function: Callable[[int], object], *, calls: int, repeats: int) -> float:
    """Median over ``repeats`` loops of the time per call, in microseconds."""
    figures = []
    for repeat in range(repeats):
        start = time.perf_counter()
        for call in range(calls):
            function(repeat * calls + call)
        figures.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(figures)


def ingest_per_span_us(span: SpanRecord, *, redacting: bool, batches: int) -> float:
    """Median time per span of ``write_spans`` (SQLite), with or without ingest redaction."""

    def pass_through(spans: Sequence[SpanRecord]) -> Sequence[SpanRecord]:
        return spans

    sqlstore.redact_spans = redact_spans if redacting else pass_through  # type: ignore[assignment]
    figures = []
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteRunIndexStore(str(Path(directory) / "index.db"))
        try:
            for batch in range(batches):
                spans = [
                    dataclasses.replace(
                        span,
                        trace_id=f"{batch:032x}",
                        span_id=f"{n + 1:016x}",
                        attributes={
                            **span.attributes,
                            attr.GEN_AI_OUTPUT_MESSAGES: f"reply {batch}.{n}",
                        },
                    )
                    for n in range(INGEST_BATCH_SPANS)
                ]
                start = time.perf_counter()
                store.write_spans(spans)
                figures.append((time.perf_counter() - start) / len(spans) * 1e6)
        finally:
            store.close()
            sqlstore.redact_spans = redact_spans
    return statistics.median(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    redact.use(enabled=True, redactor=DEFAULT_REDACTOR)
    chat = typical_chat(0)
    whole = "[" + ",".join(content.to_json(message) for message in chat) + "]"
    span = SpanRecord(
        trace_id="ab" * 16,
        span_id="cd" * 8,
        parent_span_id=None,
        name="chat gpt-4o-mini",
        kind=3,
        start_time_unix_nano=1,
        end_time_unix_nano=2,
        attributes={
            attr.GEN_AI_OPERATION_NAME: "chat",
            attr.GEN_AI_PROVIDER_NAME: "openai",
            attr.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
            attr.GEN_AI_REQUEST_MAX_TOKENS: 512,
            attr.GEN_AI_USAGE_INPUT_TOKENS: 950,
            attr.GEN_AI_USAGE_OUTPUT_TOKENS: 120,
            attr.GEN_AI_INPUT_MESSAGES: whole,
            attr.GEN_AI_OUTPUT_MESSAGES: content.to_json([chat[-1]]),
        },
        resource_attributes={"service.name": "agent"},
    )

    def encode_only(_: int) -> object:
        return "[" + ",".join(content.to_json(message) for message in chat) + "]"

    def history_resent(call: int) -> object:
        # The previous call sent the same history; only the last message is new.
        fresh = {**chat[-1], "content": f"{chat[-1]['content']} (call {call})"}
        target: dict[str, object] = {}
        set_json_array(target, attr.GEN_AI_INPUT_MESSAGES, [*chat[:-1], fresh])  # type: ignore[arg-type]
        return target

    def all_new(call: int) -> object:
        target: dict[str, object] = {}
        set_json_array(target, attr.GEN_AI_INPUT_MESSAGES, typical_chat(10_000 + call))  # type: ignore[arg-type]
        return target

    def sdk_cost(function: Callable[[int], object]) -> tuple[float, float]:
        redact.use(enabled=False, redactor=DEFAULT_REDACTOR)
        off = per_call_us(function, calls=args.calls, repeats=args.repeats)
        redact.use(enabled=True, redactor=DEFAULT_REDACTOR)
        on = per_call_us(function, calls=args.calls, repeats=args.repeats)
        return on, off

    resent_on, resent_off = sdk_cost(history_resent)
    new_on, new_off = sdk_cost(all_new)
    figures = {
        "encode only (JSON per message, joined)": per_call_us(
            encode_only, calls=args.calls, repeats=args.repeats
        ),
        "Redactor.text, whole messages JSON": per_call_us(
            lambda _: DEFAULT_REDACTOR.text(whole), calls=args.calls, repeats=args.repeats
        ),
        "sdk capture, history re-sent, redaction off": resent_off,
        "sdk capture, history re-sent, redaction on": resent_on,
        "sdk capture, all 13 new, redaction off": new_off,
        "sdk capture, all 13 new, redaction on": new_on,
        "collector redact_spans, one LLM span": per_call_us(
            lambda _: redact_spans([span]), calls=args.calls, repeats=args.repeats
        ),
    }
    figures["collector ingest per LLM span, no redaction"] = ingest_per_span_us(
        span, redacting=False, batches=args.repeats
    )
    figures["collector ingest per LLM span, redaction"] = ingest_per_span_us(
        span, redacting=True, batches=args.repeats
    )
    print(f"typical chat: {len(chat)} messages, {len(whole)} characters of JSON")
    for label, figure in figures.items():
        print(f"  {label:42s} {figure:8.1f} µs per call")


if __name__ == "__main__":
    main()
