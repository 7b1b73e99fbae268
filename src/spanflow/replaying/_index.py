"""Reading a recorded run's LLM calls (subruns included) back from the run index."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spanflow import attributes
from spanflow._internal import config
from spanflow.replaying._exchange import Recording, RecordingFormatError, unpack


class ReplayError(Exception):
    """A replay that cannot start: unknown run, no recordings, a bad edit or param."""


@dataclass(frozen=True)
class RecordedCall:
    """One LLM call of the recorded run, in start order across the run and its subruns."""

    position: int  # 1-based
    span_id: str
    run_id: str
    provider: str
    operation: str
    request_key: str | None
    recording: Recording | None
    input_tokens: int
    output_tokens: int
    output_messages: str | None
    unservable: str | None = None
    """Why the recording cannot answer this call as the provider did (then it is a miss)."""


@dataclass(frozen=True)
class RecordedRun:
    """A run and the LLM calls replay can answer from."""

    run_id: str
    params: dict[str, Any]
    calls: tuple[RecordedCall, ...]
    launch: str | None = None
    """The run's launch record (JSON text), when it has one."""


def load_run(run_id: str, source: str | os.PathLike[str] | None = None) -> RecordedRun:
    """The recorded LLM calls of ``run_id`` and its subruns, from ``source`` (default index).

    Raises:
        ReplayError: the run is not in the index, or none of its calls kept a response.
    """
    from spanflow.client import Client, RunNotFoundError

    if source is not None and _is_bundle(source):
        with tempfile.TemporaryDirectory(prefix="spanflow-replay-bundle-") as folder:
            return load_run(run_id, _bundle_as_index(source, Path(folder) / "index.db"))
    try:
        client = Client(source if source is not None else _sdk_index())
    except Exception as exc:
        raise ReplayError(f"cannot open the run index to replay {run_id}: {exc}") from exc
    with client:
        try:
            summary = client.get_run(run_id)
        except RunNotFoundError as exc:
            raise ReplayError(f"run {run_id} is not in {client.source.location}") from exc
        spans: list[Any] = []
        pending = [run_id]
        seen: set[str] = set()
        while pending:  # the run and every subrun below it
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            spans.extend((current, span) for span in client.spans(current))
            pending.extend(child.id for child in client.children(current))
    llm = sorted(
        (
            (owner, span)
            for owner, span in spans
            if span.attributes.get(attributes.SPAN_KIND) == attributes.SpanKindValue.LLM
        ),
        key=lambda pair: (pair[1].start_time_unix_nano, pair[1].span_id),
    )
    calls = tuple(_recorded_call(index + 1, owner, span) for index, (owner, span) in enumerate(llm))
    if calls and all(call.recording is None for call in calls):
        reasons = sorted(
            {c.unservable for c in calls if c.request_key is not None and c.unservable is not None}
        )
        found = f"; for its calls: {'; '.join(reasons)}" if reasons else ""
        raise ReplayError(
            f"run {run_id} has {len(calls)} LLM call(s) but no recorded responses: it was "
            "recorded by a spanflow without replay support, or with SPANFLOW_RECORD_RESPONSES=off "
            f"(or its recordings were cut by an attribute value length limit){found}"
        )
    launch = summary.attributes.get(attributes.LAUNCH_RUN_ATTRIBUTE)
    if launch is None:  # a long record is kept whole on the root span only
        key = attributes.RUN_ATTRIBUTE_PREFIX + attributes.LAUNCH_RUN_ATTRIBUTE
        launch = next((span.attributes[key] for _, span in spans if key in span.attributes), None)
    return RecordedRun(
        run_id=run_id,
        params=dict(summary.params),
        calls=calls,
        launch=launch if isinstance(launch, str) else None,
    )


def _is_bundle(source: str | os.PathLike[str]) -> bool:
    """A bundle file from ``spanflow runs export`` (``.jsonl``, ``.jsonl.gz``)."""
    name = os.fspath(source)
    return name.endswith((".jsonl", ".jsonl.gz")) and os.path.isfile(name)


def _bundle_as_index(bundle: str | os.PathLike[str], index: Path) -> Path:
    """A scratch SQLite index holding ``bundle``'s runs (replay reads runs from an index)."""
    from spanflow.client import Client
    from spanflow_collector.index import open_store

    open_store(str(index)).close()
    try:
        with Client(index) as client:
            client.import_(bundle)
    except Exception as exc:
        raise ReplayError(f"cannot read the bundle {os.fspath(bundle)}: {exc}") from exc
    return index


def _sdk_index() -> str | os.PathLike[str] | None:
    """Where this process's spans go when that is an embedded index, else the default source."""
    config.ensure_configured()
    settings = config.settings()
    if "embedded" in settings.exporters:
        config.force_flush()  # a run recorded by this very process must be readable now
        return settings.db_path
    return None


def _recorded_call(position: int, run_id: str, span: Any) -> RecordedCall:
    found = span.attributes
    packed = found.get(attributes.REPLAY_EXCHANGE)
    recording: Recording | None = None
    unservable: str | None = None
    if isinstance(packed, str):
        try:
            recording = unpack(packed)
        except RecordingFormatError as exc:
            # Cut by an attribute length limit, or from a newer spanflow: this call is a miss.
            unservable = f"its recording is unreadable ({exc})"
        else:
            if any(exchange.redacted for exchange in recording.exchanges):
                unservable = (
                    "its recorded response contained a secret, redacted before it was stored, "
                    "so the recording is not what the provider answered"
                )
    else:
        unsupported = found.get(attributes.REPLAY_UNSUPPORTED)
        unservable = str(unsupported) if unsupported else "no response was recorded for it"
    key = found.get(attributes.REPLAY_REQUEST)
    output = found.get(attributes.GEN_AI_OUTPUT_MESSAGES)
    return RecordedCall(
        position=position,
        span_id=span.span_id,
        run_id=run_id,
        provider=str(found.get(attributes.GEN_AI_PROVIDER_NAME, "")),
        operation=str(found.get(attributes.GEN_AI_OPERATION_NAME, "")),
        request_key=key if isinstance(key, str) else None,
        recording=recording,
        input_tokens=_int(found.get(attributes.GEN_AI_USAGE_INPUT_TOKENS)),
        output_tokens=_int(found.get(attributes.GEN_AI_USAGE_OUTPUT_TOKENS)),
        output_messages=output if isinstance(output, str) else None,
        unservable=unservable,
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
