"""Run bundles: runs with their subruns, spans, links, content and metric series in one file.

A bundle is JSON Lines, gzip-compressed when its name ends in ``.gz``. Line 1 is the header
``{"format": "spanflow.bundle", "version": 1, "exported_at": ..., "runs": N}``; then one
``{"type": "run", "run": Run, "metric_history": [MetricPoint...], "spans": [Span...]}`` line per
run, parents before their subruns, in the query API's JSON shapes (docs/query.md). Spans carry
their events, links and captured content; a run's params, outputs, inputs, attributes, tags,
artifacts and metric points come from its ``Run`` and ``metric_history``. Stored artifact
content is in ``"artifact_contents": {sha256: base64}`` (absent when the run has none; a
reader that predates it ignores it).

Importing replays a run as the SDK sends it: its spans, plus run records rebuilt from the
``Run`` with ids derived from the run id, so a second import of the same bundle stores nothing
new.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Any

from spanflow import attributes as attr
from spanflow.query import codec
from spanflow.query.records import AttributeValue, MetricPointValue, RunRecord, SpanRecord
from spanflow.query.store import MetricPoint, RunSummary

BUNDLE_FORMAT = "spanflow.bundle"
BUNDLE_VERSION = 1
_ARTIFACT_KEYS = {
    "path": attr.ARTIFACT_PATH,
    "size": attr.ARTIFACT_SIZE,
    "sha256": attr.ARTIFACT_SHA256,
    "media_type": attr.ARTIFACT_MEDIA_TYPE,
}
# An imported run that ended interrupted has no final root span; a start record with this
# tiny heartbeat interval makes the index read it interrupted again right away.
_INTERRUPTED_INTERVAL_S = 1e-3
_KIND = attr.RecordKindValue
_POINTS_PER_RECORD = 50_000


class BundleError(ValueError):
    """The file is not a bundle this spanflow can read; the message says why and where."""


@dataclass(frozen=True)
class BundledRun:
    """One run of a bundle."""

    run: RunSummary
    metric_history: tuple[MetricPoint, ...]
    spans: tuple[SpanRecord, ...]
    artifact_contents: Mapping[str, bytes] = field(default_factory=dict)  # by sha256


def open_text(path: str | os.PathLike[str], *, write: bool = False) -> IO[str]:
    """The bundle file as text, through gzip when its name ends in ``.gz``."""
    if os.fspath(path).endswith(".gz"):
        if write:
            return gzip.open(path, "wt", encoding="utf-8")
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, "w" if write else "r", encoding="utf-8")


def write_header(stream: IO[str], run_count: int) -> None:
    """The first line of a bundle."""
    header = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "exported_at": datetime.now(tz=timezone.utc).isoformat(),
        "runs": run_count,
    }
    stream.write(json.dumps(header) + "\n")


def write_run(stream: IO[str], bundled: BundledRun) -> None:
    """One run line."""
    line = {
        "type": "run",
        "run": codec.encode_run(bundled.run),
        "metric_history": [codec.encode_metric_point(p) for p in bundled.metric_history],
        "spans": [codec.encode_span(span) for span in bundled.spans],
    }
    if bundled.artifact_contents:
        line["artifact_contents"] = {
            sha256: base64.b64encode(content).decode("ascii")
            for sha256, content in sorted(bundled.artifact_contents.items())
        }
    stream.write(codec.dumps(line) + "\n")


def read_bundle(stream: IO[str], *, name: str) -> tuple[int, Iterator[BundledRun]]:
    """The header's run count and the runs, decoded line by line.

    Raises:
        BundleError: not a spanflow bundle, a newer version, or an unreadable line.
    """
    try:
        first = stream.readline()
        header = json.loads(first) if first.strip() else None
    except (ValueError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise BundleError(f"{name} is not a spanflow bundle ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{name} is not a spanflow bundle (no spanflow.bundle header)")
    version = header.get("version")
    if not isinstance(version, int) or version > BUNDLE_VERSION:
        raise BundleError(
            f"{name} is bundle version {version}; this spanflow reads up to {BUNDLE_VERSION}"
        )
    count = header.get("runs")
    return (count if isinstance(count, int) else 0), _runs(stream, name)


def _runs(stream: IO[str], name: str) -> Iterator[BundledRun]:
    for number, line in enumerate(stream, start=2):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if item.get("type") != "run":
                continue  # a later version's extra line kinds are skipped, not fatal
            yield BundledRun(
                run=codec.decode_run(item["run"]),
                metric_history=tuple(
                    codec.decode_metric_point(p) for p in item.get("metric_history", ())
                ),
                spans=tuple(codec.decode_span(span) for span in item.get("spans", ())),
                artifact_contents=_contents(item.get("artifact_contents") or {}),
            )
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise BundleError(f"{name}, line {number}: not a bundle run ({exc!r})") from None


def _contents(encoded: Mapping[str, str]) -> dict[str, bytes]:
    """Artifact contents by sha256, each checked against its hash."""
    contents: dict[str, bytes] = {}
    for sha256, text in encoded.items():
        content = base64.b64decode(text, validate=True)
        if hashlib.sha256(content).hexdigest() != sha256:
            raise ValueError(f"artifact content does not match its sha256 {sha256!r}")
        contents[sha256] = content
    return contents


def _record_id(run_id: str, kind: str, index: int = 0) -> str:
    return hashlib.sha256(f"{run_id}\x00{kind}\x00{index}".encode()).hexdigest()[:32]


def run_records(bundled: BundledRun) -> list[RunRecord]:
    """The run records the SDK would have sent for this run, with stable ids."""
    run = bundled.run
    root = next(
        (
            span
            for span in sorted(bundled.spans, key=lambda s: s.start_time_unix_nano)
            if span.parent_span_id is None and span.attributes.get(attr.RUN_ID) == run.id
        ),
        None,
    )
    trace_id = root.trace_id if root else (run.trace_ids[0] if run.trace_ids else "")
    span_id = root.span_id if root else ""
    time_ns = run.start_time_unix_nano

    def record(kind: str, index: int = 0, **parts: Any) -> RunRecord:
        return RunRecord(
            kind=kind,
            run_id=run.id,
            record_id=_record_id(run.id, kind, index),
            segment=0,
            trace_id=trace_id,
            span_id=span_id,
            time_unix_nano=time_ns,
            **parts,
        )

    start_fields: dict[str, AttributeValue] = {
        attr.RUN_NAME: run.name,
        attr.PROJECT: run.project,
        attr.RUN_TAGS: tuple(run.tags),
    }
    if run.parent_id:
        start_fields[attr.RUN_PARENT_ID] = run.parent_id
    if run.status == attr.RunStatus.INTERRUPTED:
        start_fields[attr.RUN_HEARTBEAT_INTERVAL_S] = _INTERRUPTED_INTERVAL_S
    records = [record(_KIND.START, fields=start_fields)]
    for kind, values in (
        (_KIND.PARAMS, run.params),
        (_KIND.OUTPUTS, run.outputs),
        (_KIND.INPUTS, run.inputs),
        (_KIND.ATTRIBUTES, run.attributes),
    ):
        if values:
            records.append(record(kind, values=dict(values)))
    if run.tags:
        records.append(record(_KIND.TAGS, tags=tuple(run.tags)))
    # Indexes written before run records hold metric points as span events, which the spans
    # carry already; a record too would store each of those points twice.
    in_spans = any(e.name == attr.EVENT_METRIC for span in bundled.spans for e in span.events)
    if bundled.metric_history and not in_spans:
        points = [
            MetricPointValue(p.name, p.value, p.step, p.time_unix_nano)
            for p in bundled.metric_history
        ]
        # Receivers refuse records of more than 100,000 items; long series go in several.
        for index, start in enumerate(range(0, len(points), _POINTS_PER_RECORD)):
            chunk = tuple(points[start : start + _POINTS_PER_RECORD])
            records.append(record(_KIND.METRICS, index, points=chunk))
    for index, (name, facts) in enumerate(sorted(run.artifacts.items())):
        fields: dict[str, AttributeValue] = {attr.ARTIFACT_NAME: name}
        for short, key in _ARTIFACT_KEYS.items():
            value = facts.get(short)
            if isinstance(value, str | int | float):
                fields[key] = value
        content = bundled.artifact_contents.get(str(facts.get("sha256")))
        stored = facts.get("stored") is True and content is not None
        fields[attr.ARTIFACT_STORED] = stored
        records.append(
            record(_KIND.ARTIFACT, index, fields=fields, content=content if stored else None)
        )
    if run.truncated:
        records.append(record(_KIND.TRUNCATED, fields={attr.RUN_TRUNCATED: tuple(run.truncated)}))
    return records
