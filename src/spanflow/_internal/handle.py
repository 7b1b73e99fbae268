"""``RunHandle``: a run's identity and status, and the methods that log into it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry.trace import Span, SpanContext

from spanflow import attributes
from spanflow._internal import clock, values
from spanflow._internal.artifacts import (
    ArtifactReadError,
    ArtifactSource,
    clean_name,
    read_artifact,
)
from spanflow._internal.guard import report_internal_error
from spanflow._internal.run_limits import RunLimits
from spanflow._internal.run_records import AttributeScalar, FieldValue, new_record_id
from spanflow._internal.warn import warn, warn_once
from spanflow.query.records import MetricPointValue, RunRecord

FINISH_STATUSES = (
    attributes.RunStatus.COMPLETED,
    attributes.RunStatus.FAILED,
    attributes.RunStatus.CANCELLED,
)
"""What ``RunHandle.finish(status=...)`` accepts."""


class RunHandle:
    """A run as user code sees it: ``with spanflow.run() as r`` and ``spanflow.current_run()``.

    The ``log_*`` methods log into this particular run, wherever they are called from (another
    thread, a callback); the module-level ``spanflow.log_*`` functions log into the current run.
    A handle inherited from a parent process (``is_remote``) can be read but not logged into:
    open a run in the child process instead (it becomes a subrun).
    """

    def __init__(
        self,
        *,
        run_id: str,
        name: str | None,
        project: str,
        tags: Iterable[str] = (),
        params: Mapping[str, Any] | None = None,
        parent_id: str | None = None,
        segment: int = 0,
        span: Span | None = None,
        root_span_context: SpanContext | None = None,
        is_remote: bool = False,
        emit: Callable[[RunRecord, bool], None] | None = None,
        limits: RunLimits | None = None,
        redact: bool = True,
    ) -> None:
        self._id = run_id
        self._name = name
        self._project = project
        self._tags = list(dict.fromkeys(tags))
        self._params = dict(params or {})
        self._parent_id = parent_id
        self._segment = segment
        self._span = span
        self._root_span_context = root_span_context or (
            span.get_span_context() if span is not None else None
        )
        self._is_remote = is_remote
        self._status = attributes.RunStatus.RUNNING
        self._owner_pid = os.getpid()
        self._lock = threading.RLock()
        self._emit = emit
        self._finisher: Callable[[str, BaseException | None], None] | None = None
        # A ``start_run`` run finished where its context could not be left (another thread):
        # contexts that still hold it read as ``_outer``, the run current when it started.
        self._outer: RunHandle | None = None
        self._left_in_context = False
        self._limits = limits or RunLimits()
        # A run that turned redaction off says so on every record, so the collector keeps them.
        self._record_flags: dict[str, FieldValue] = (
            {} if redact else {attributes.REDACTION_OFF: True}
        )
        self._keys: dict[str, set[str]] = {}
        self._metric_point_count = 0
        self._truncated: set[str] = set()

    # --- identity and status -------------------------------------------------------------------
    @property
    def id(self) -> str:
        """The run id (a ULID), shared by every segment of a resumed run."""
        return self._id

    @property
    def name(self) -> str | None:
        """The run name; ``None`` only for a resumed run whose name this process never saw."""
        return self._name

    @property
    def project(self) -> str:
        """The project the run belongs to."""
        return self._project

    @property
    def tags(self) -> tuple[str, ...]:
        """The run's tags, in the order they were first given."""
        with self._lock:
            return tuple(self._tags)

    @property
    def params(self) -> dict[str, Any]:
        """A copy of the params given to ``run()`` and logged since."""
        with self._lock:
            return dict(self._params)

    @property
    def parent_id(self) -> str | None:
        """The enclosing run's id for a subrun, else ``None``."""
        return self._parent_id

    @property
    def segment(self) -> int:
        """0 for a run's first segment, higher for resumed segments."""
        return self._segment

    @property
    def status(self) -> attributes.RunStatus:
        """``running`` while open, then ``completed``/``failed``/``cancelled``/``interrupted``.

        A :class:`spanflow.RunStatus` member, equal to those words.
        """
        return self._status

    @property
    def is_remote(self) -> bool:
        """True for a run opened by a parent process and inherited through the environment."""
        return self._is_remote

    @property
    def root_span_context(self) -> SpanContext | None:
        """The span context of this segment's root span (``None`` when tracing is disabled)."""
        return self._root_span_context

    @property
    def trace_id(self) -> str | None:
        """This segment's trace id as 32 hex digits, or ``None`` without a valid root span."""
        ctx = self._root_span_context
        if ctx is None or not ctx.is_valid:
            return None
        return f"{ctx.trace_id:032x}"

    def __repr__(self) -> str:
        return (
            f"RunHandle(id={self._id!r}, name={self._name!r}, project={self._project!r}, "
            f"status={str(self._status)!r}, parent_id={self._parent_id!r})"
        )

    # --- logging -------------------------------------------------------------------------------
    def _writable(self, operation: str) -> bool:
        """Whether this process may log into the run now (warns once when it may not)."""
        if self._is_remote or self._owner_pid != os.getpid():
            warn_once(
                f"remote-{operation}",
                f"spanflow: {operation}() on a run opened by a parent process does nothing; "
                "open a run in this process (it becomes a subrun) and log into that",
                stacklevel=4,
            )
            return False
        if self._status != attributes.RunStatus.RUNNING:
            warn_once(
                f"ended-{operation}",
                f"spanflow: {operation}() on run {self._id} after it ended does nothing",
                stacklevel=4,
            )
            return False
        return True

    def _emit_record(
        self,
        kind: str,
        *,
        urgent: bool = False,
        fields: Mapping[str, FieldValue] | None = None,
        record_values: Mapping[str, AttributeScalar] | None = None,
        tags: tuple[str, ...] = (),
        points: tuple[MetricPointValue, ...] = (),
        content: bytes | None = None,
    ) -> None:
        """Hand one run record to the export routes (nowhere when tracing is off)."""
        emit = self._emit
        if emit is None:
            return
        context = self._root_span_context
        valid = context is not None and context.is_valid
        record = RunRecord(
            kind=kind,
            run_id=self._id,
            record_id=new_record_id(),
            segment=self._segment,
            trace_id=f"{context.trace_id:032x}" if valid and context else "",
            span_id=f"{context.span_id:016x}" if valid and context else "",
            time_unix_nano=clock.time_ns(),
            fields={**fields, **self._record_flags} if fields else self._record_flags,
            values=record_values or {},
            tags=tags,
            points=points,
            content=content,
        )
        emit(record, urgent)

    def _truncate(self, what: str, message: str) -> None:
        """Say once per run (warning and ``run.truncated`` record) that ``what`` was cut."""
        with self._lock:
            if what in self._truncated:
                return
            self._truncated.add(what)
        # The record first: under ``-W error`` the warning raises, and the run must still say so.
        self._emit_record(
            attributes.RecordKindValue.TRUNCATED, fields={attributes.RUN_TRUNCATED: (what,)}
        )
        warn(f"spanflow: run {self._id}: {message}; the run is marked truncated", stacklevel=5)

    def _log_values(
        self,
        kind: str,
        record_kind: str,
        items: Mapping[Any, Any],
        *,
        urgent: bool = False,
        given: dict[str, Any] | None = None,
    ) -> dict[str, AttributeScalar]:
        """Send valid keys with encoded values, cut at the run's key limit; returns them.

        ``given``, when passed, receives each sent name (its secrets redacted, so not always the
        caller's key) with the value as the caller gave it.
        """
        encoded: dict[str, AttributeScalar] = {}
        originals: dict[str, Any] = {}
        for key, value in items.items():
            name = values.valid_key(kind, key)
            if name is not None:
                encoded[name] = values.encode_value(kind, name, value)
                originals[name] = value
        with self._lock:
            seen = self._keys.setdefault(kind, set())
            new_keys = [key for key in encoded if key not in seen]
            room = self._limits.max_keys - len(seen)
            refused = new_keys[max(room, 0) :]
            seen.update(new_keys[: max(room, 0)])
        for key in refused:
            del encoded[key]
        if encoded:
            self._emit_record(record_kind, urgent=urgent, record_values=encoded)
        if given is not None:
            given.update((name, originals[name]) for name in encoded)
        if refused:
            self._truncate(
                f"{kind}s",
                f"more than {self._limits.max_keys} {kind}s; {kind} {refused[0]!r} and "
                "later new ones are dropped (SPANFLOW_MAX_RUN_KEYS)",
            )
        return encoded

    def log_param(self, key: str, value: Any) -> None:
        """Record a param (a run record; see docs/attributes.md)."""
        self._log_params({key: value})

    def log_params(self, params: Mapping[str, Any] | None = None, /, **named: Any) -> None:
        """Record several params at once: as keywords (``log_params(lr=0.1)``), as a mapping
        (``log_params({"lr": 0.1})``, for keys that are not identifiers), or both."""
        merged = _merged("log_params", params, named)
        if merged is not None:
            self._log_params(merged)

    def _log_params(self, params: Mapping[Any, Any]) -> None:
        if not self._writable("log_param"):
            return
        # Keyed by the sent names: a key holding a secret is sent redacted, and looking the
        # redacted name up in ``params`` raised KeyError.
        given: dict[str, Any] = {}
        self._log_values("param", attributes.RecordKindValue.PARAMS, params, given=given)
        with self._lock:
            self._params.update(given)

    def log_metric(self, name: str, value: Any, *, step: int | None = None) -> None:
        """Record one metric point (name, value, optional step, time)."""
        self.log_metrics({name: value}, step=step)

    def log_metrics(
        self,
        metrics: Mapping[str, Any] | None = None,
        /,
        *,
        step: int | None = None,
        **named: Any,
    ) -> None:
        """Record several metric points sharing one ``step``.

        Give them as a mapping (``log_metrics({"loss": 0.1})``), as keywords
        (``log_metrics(loss=0.1, acc=0.9)``), or both; a metric called ``step`` goes in the
        mapping, since the keyword is the step.
        """
        if not self._writable("log_metric"):
            return
        merged = _merged("log_metrics", metrics, named)
        if merged is None:
            return
        timestamp = clock.time_ns()
        points: list[MetricPointValue] = []
        for key, raw in merged.items():
            name = values.valid_key("metric", key)
            if name is None:
                continue
            number = values.metric_value(name, raw)
            if number is None:
                continue
            points.append(MetricPointValue(name, number, values.metric_step(name, step), timestamp))
        if not points:
            return
        with self._lock:
            room = max(self._limits.max_metric_points - self._metric_point_count, 0)
            self._metric_point_count += min(room, len(points))
        if room:
            kept = tuple(points[:room])
            self._emit_record(attributes.RecordKindValue.METRICS, points=kept)
        if room < len(points):
            self._truncate(
                "metric_points",
                f"more than {self._limits.max_metric_points} metric points; later points are "
                "dropped (SPANFLOW_MAX_RUN_METRIC_POINTS)",
            )

    def log_output(self, name: str, value: Any) -> None:
        """Record an output (str native, anything else JSON)."""
        self._log_keyed("log_output", "output", attributes.RecordKindValue.OUTPUTS, {name: value})

    def log_outputs(self, outputs: Mapping[str, Any] | None = None, /, **named: Any) -> None:
        """Record several outputs at once: as keywords, as a mapping (for keys that are not
        identifiers), or both, like ``log_params``."""
        merged = _merged("log_outputs", outputs, named)
        if merged is not None:
            self._log_keyed("log_output", "output", attributes.RecordKindValue.OUTPUTS, merged)

    def log_input(self, name: str, value: Any) -> None:
        """Record an input of the run: a dataset row, a prompt (str native, else JSON)."""
        self._log_keyed("log_input", "input", attributes.RecordKindValue.INPUTS, {name: value})

    def log_inputs(self, inputs: Mapping[str, Any] | None = None, /, **named: Any) -> None:
        """Record several inputs at once: as keywords, as a mapping (for keys that are not
        identifiers), or both, like ``log_params``."""
        merged = _merged("log_inputs", inputs, named)
        if merged is not None:
            self._log_keyed("log_input", "input", attributes.RecordKindValue.INPUTS, merged)

    def _log_keyed(
        self, operation: str, kind: str, record_kind: str, items: Mapping[Any, Any]
    ) -> None:
        if not self._writable(operation):
            return
        self._log_values(kind, record_kind, items)

    def log_artifact(
        self,
        path_or_bytes: ArtifactSource,
        *,
        name: str | None = None,
        media_type: str | None = None,
    ) -> None:
        """Record a file or bytes as an artifact of the run (see docs/artifacts.md).

        Content up to ``SPANFLOW_MAX_ARTIFACT_BYTES`` (1 MiB by default) is stored in the
        index, once per distinct content; larger content is recorded as a reference (name,
        size, sha256, media type, path). A name logged again in the same run replaces the
        earlier artifact of that name. A missing or unreadable file is a warning; the run
        goes on.
        """
        if not self._writable("log_artifact"):
            return
        try:
            data = read_artifact(
                path_or_bytes,
                name=name,
                media_type=media_type,
                max_stored_bytes=self._limits.max_artifact_bytes,
            )
        except ArtifactReadError as exc:
            # Warnings reach stderr and logs: a key pasted into a path must not.
            warn(f"spanflow: {values.clean_text(str(exc))}; nothing was logged", stacklevel=4)
            return
        # Name and path are user text like a tag: a key pasted into either must not leave.
        redact = attributes.REDACTION_OFF not in self._record_flags
        fields: dict[str, FieldValue] = {
            attributes.ARTIFACT_NAME: clean_name(values.clean_text(data.name, redact=redact))
            or f"artifact-{data.sha256[:12]}",
            attributes.ARTIFACT_SIZE: data.size,
            attributes.ARTIFACT_SHA256: data.sha256,
            attributes.ARTIFACT_MEDIA_TYPE: data.media_type,
            attributes.ARTIFACT_STORED: data.content is not None,
        }
        if data.path is not None:
            fields[attributes.ARTIFACT_PATH] = values.clean_text(data.path, redact=redact)
        self._emit_record(attributes.RecordKindValue.ARTIFACT, fields=fields, content=data.content)

    def tag(self, *tags: str) -> None:
        """Add tags (duplicates are kept once)."""
        if not self._writable("tag"):
            return
        added: list[str] = []
        with self._lock:
            for tag in tags:
                name = values.valid_key("tag", tag)
                if name is not None and name not in self._tags:
                    self._tags.append(name)
                    added.append(name)
            current = tuple(self._tags)
        if not added:
            return
        if self._span is not None:
            # One attribute replaced in place: it cannot push spanflow's other fields out.
            self._span.set_attribute(attributes.RUN_TAGS, current)
        self._emit_record(attributes.RecordKindValue.TAGS, tags=tuple(added))

    # --- lifecycle -------------------------------------------------------------------------------
    def finish(self, status: str | None = None, *, error: BaseException | None = None) -> None:
        """End the run now: ``completed`` (the default), ``failed`` or ``cancelled``.

        For runs from :func:`spanflow.start_run`; inside ``with spanflow.run()`` it ends the
        run before the block does. ``error`` records the exception that failed the run (the
        status then defaults to ``failed``). Finishing twice does nothing; a run never
        finished ends ``interrupted`` when the process exits.

        Raises:
            ValueError: ``status`` is not one of the three above.
        """
        chosen = status or (
            attributes.RunStatus.FAILED if error is not None else attributes.RunStatus.COMPLETED
        )
        if chosen not in FINISH_STATUSES:
            choices = ", ".join(repr(str(choice)) for choice in FINISH_STATUSES)
            raise ValueError(f"finish(status={status!r}): use one of {choices}")
        finisher = self._finisher
        if finisher is None:
            warn_once(
                "finish-remote",
                "spanflow: finish() on a run opened by another process does nothing",
                stacklevel=2,
            )
            return
        try:
            finisher(chosen, error)
        except Exception as exc:
            if isinstance(exc, Warning):
                raise
            report_internal_error("ending a run with finish()")

    def _set_finisher(self, finisher: Callable[[str, BaseException | None], None]) -> None:
        self._finisher = finisher

    def _set_status(self, status: str) -> bool:
        """Move from ``running`` to ``status``; False if the run had already ended."""
        with self._lock:
            if self._status != attributes.RunStatus.RUNNING:
                return False
            self._status = attributes.RunStatus(status)
            return True

    def _span_for_lifecycle(self) -> Span | None:
        return self._span

    def _owned_by_this_process(self) -> bool:
        return not self._is_remote and self._owner_pid == os.getpid()


def _merged(operation: str, given: object, named: Mapping[str, Any]) -> dict[Any, Any] | None:
    """A positional mapping and keywords as one dict (keywords win); None, after a warning,
    when the positional argument is not a mapping."""
    if given is None:
        return dict(named)
    if not isinstance(given, Mapping):
        warn(
            f"spanflow: {operation}() takes a mapping or keywords, not {type(given).__name__}; "
            "nothing was logged",
            stacklevel=5,
        )
        return None
    return {**given, **named}


def safe_call(operation: str, func: Any, *args: Any, **kwargs: Any) -> None:
    """Run a logging call; internal failures are logged once, never raised to the user."""
    try:
        func(*args, **kwargs)
    except Exception as exc:
        # Warnings turned into errors (``-W error``) are the user's choice: let them through.
        if isinstance(exc, Warning):
            raise
        report_internal_error(f"logging with {operation}()")
