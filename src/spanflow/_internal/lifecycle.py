"""Opening and ending a run segment: the root span, the start record, the final status."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanLimits
from opentelemetry.trace import Link, SpanContext, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from spanflow import attributes
from spanflow._client.errors import RunNotFoundError
from spanflow._internal import (
    clock,
    config,
    existing_run,
    exit_hooks,
    guard,
    ids,
    liveness,
    membership,
    pipeline,
    run_limits,
    values,
    written_index,
)
from spanflow._internal import redact as redaction
from spanflow._internal.guard import report_internal_error
from spanflow._internal.handle import RunHandle
from spanflow._internal.span_errors import record_error
from spanflow.dataflow.switch import forget_run_tree
from spanflow.replaying import _runs as replay_runs

RunStatus = attributes.RunStatus


@dataclass(frozen=True)
class RunSpec:
    """What ``run(...)`` was asked for."""

    name: str | None
    project: str | None
    tags: tuple[str, ...]
    params: Mapping[str, Any]
    run_id: str | None
    resume: str | RunHandle | None
    extra_attributes: Mapping[str, Any]
    redact: bool | None = None  # None: the enclosing run's switch, else the process-wide one
    if_exists: existing_run.IfExists | None = None  # with run_id; None: DEFAULT_IF_EXISTS


@dataclass(frozen=True)
class _KnownSegment:
    segment: int
    name: str | None
    project: str
    root_span_context: SpanContext | None


# Segments this process opened, so a resume here knows the next number and the previous root.
_known_segments: dict[str, _KnownSegment] = {}
_known_lock = threading.Lock()


def _remember(handle: RunHandle) -> None:
    with _known_lock:
        known = _known_segments.get(handle.id)
        if known is None or known.segment <= handle.segment:
            _known_segments[handle.id] = _KnownSegment(
                handle.segment, handle.name, handle.project, handle.root_span_context
            )


def _resume_target(spec: RunSpec) -> tuple[str, _KnownSegment | None]:
    resume = spec.resume
    if isinstance(resume, RunHandle):
        return resume.id, _KnownSegment(
            resume.segment, resume.name, resume.project, resume.root_span_context
        )
    assert resume is not None
    with _known_lock:
        return resume, _known_segments.get(resume)


def _apply_existing_run_policy(
    spec: RunSpec,
) -> tuple[RunSpec, written_index.IndexAnswer | None]:
    """``spec`` as the existing-run policy turns it (a resume, a fresh id, or unchanged), and
    the index's answer when it was asked (so a resume does not ask twice).

    Raises:
        RunExistsError: ``id=`` names an existing run and the policy is ``"error"``.
    """
    if spec.resume is not None or spec.run_id is None:
        return spec, None
    policy = spec.if_exists or existing_run.DEFAULT_IF_EXISTS
    with _known_lock:
        here = spec.run_id in _known_segments
    answer = None if here else written_index.look_up_run(spec.run_id)
    if answer is not None and answer.run is None:
        return spec, None
    if policy == "error":
        where = answer.location if answer is not None else "this process"
        raise existing_run.RunExistsError(spec.run_id, where)
    if policy == "resume":
        return dataclasses.replace(spec, resume=spec.run_id, run_id=None), answer
    attributes_with_origin = {
        **spec.extra_attributes,
        existing_run.RERUN_OF_ATTRIBUTE: spec.run_id,
    }
    fresh = dataclasses.replace(spec, run_id=None, extra_attributes=attributes_with_origin)
    return fresh, None


def open_run(spec: RunSpec) -> tuple[RunHandle, object]:
    """Start a run segment, make it current, and announce it; returns the handle and a token.

    Raises:
        RunExistsError: ``id=`` names an existing run and ``if_exists`` is ``"error"``.
        RunNotFoundError: ``resume=`` names a run the index answers it does not hold.
    """
    config.ensure_configured()
    settings = config.settings()
    spec, answer = _apply_existing_run_policy(spec)
    parent = membership.current_run()
    spec = replay_runs.adjust_run_spec(spec, top_level=parent is None)  # docs/replay.md
    links: list[Link] = []
    previous: _KnownSegment | None = None
    project_assumed = False
    resumed_tags: tuple[str, ...] = ()
    if spec.resume is not None:
        run_id, previous = _resume_target(spec)
        known = None
        if previous is None:
            answer = answer or written_index.look_up_run(run_id)
            if answer.answered and answer.run is None:
                raise RunNotFoundError(run_id)
            known = answer.run
        # Numbered from what this process (or the index) knows; the index orders segments by
        # start time.
        if previous is not None:
            segment = previous.segment + 1
        else:
            segment = known.next_segment if known is not None else 1
        name = spec.name or (previous.name if previous else known.name if known else None)
        project = spec.project or (
            previous.project if previous else known.project if known else settings.project
        )
        project_assumed = not spec.project and previous is None and known is None
        resumed_tags = known.tags if known is not None else ()
        if previous is not None and previous.root_span_context is not None:
            resume_link = {attributes.LINK_TYPE: attributes.LinkTypeValue.RESUME}
            links.append(Link(previous.root_span_context, resume_link))
    else:
        run_id = spec.run_id or ids.source().new_run_id()
        segment = 0
        name = spec.name or ids.source().new_run_name()
        # A subrun belongs with its parent unless told otherwise.
        project = spec.project or (parent.project if parent is not None else settings.project)
    if parent is not None and parent.id == run_id:
        parent = None  # resuming the very run we are in: a new segment, not its own subrun
    if parent is not None:
        root = parent.root_span_context
        if root is not None and root.is_valid:
            links.append(Link(root, {attributes.LINK_TYPE: attributes.LinkTypeValue.PARENT_RUN}))

    # Secrets never leave in a name, tag, param or attribute (docs/secrets.md).
    redact = redaction.enabled(spec.redact)
    name = values.clean_text(name, redact=redact) if name is not None else None
    project = values.clean_text(project, redact=redact)
    given_tags = (values.clean_text(tag, redact=redact) for tag in spec.tags)
    tags = tuple(dict.fromkeys((*resumed_tags, *given_tags)))
    span_attributes: dict[str, AttributeValue] = {
        attributes.SPAN_KIND: attributes.SpanKindValue.RUN,
        attributes.RUN_ID: run_id,
        attributes.PROJECT: project,
        attributes.RUN_TAGS: tags,
        attributes.RUN_SEGMENT: segment,
    }
    if project_assumed:
        span_attributes[attributes.RUN_PROJECT_ASSUMED] = True
    if name is not None:
        span_attributes[attributes.RUN_NAME] = name
    if parent is not None:
        span_attributes[attributes.RUN_PARENT_ID] = parent.id
    if not redact:
        span_attributes[attributes.REDACTION_OFF] = True  # the collector stores it as sent
    span_attributes.update(_root_user_attributes(spec, redact))

    tracer = config.tracer()
    span = tracer.start_span(
        name or run_id,
        context=otel_context.Context(),  # empty context: no parent, a new trace
        kind=trace.SpanKind.INTERNAL,
        attributes=span_attributes,
        links=links,
        start_time=clock.time_ns(),
    )
    guard.remember_run_start(span)
    handle = RunHandle(
        run_id=run_id,
        name=name,
        project=project,
        tags=tags,
        params=spec.params,
        parent_id=parent.id if parent is not None else None,
        segment=segment,
        span=span,
        emit=config.processor().emit_record if span.is_recording() else None,
        limits=run_limits.from_settings(),
        redact=redact,
    )
    _remember(handle)
    run_context = trace.set_span_in_context(span)
    run_context = otel_context.set_value(membership.RUN_CONTEXT_KEY, handle, run_context)
    if spec.redact is not None:
        run_context = redaction.with_run_switch(run_context, spec.redact)
    token = otel_context.attach(run_context)
    try:
        interval_s = settings.heartbeat_interval_s
        liveness.announce_start(
            handle, interval_s, spec.params, spec.extra_attributes, project_assumed=project_assumed
        )
        if span.is_recording():
            liveness.heartbeats.add(handle, interval_s)
    except Exception:
        report_internal_error("announcing a run's start")
    return handle, token


def _root_user_attributes(spec: RunSpec, redact: bool) -> dict[str, AttributeValue]:
    """The first few params and attributes, copied onto the root span for trace-only backends.

    Bounded so that spanflow's own fields on the root can never be evicted by the SDK's
    attribute limit; every value also travels, complete, in run records. Secrets are redacted
    like everywhere else (docs/secrets.md).
    """
    copied: dict[str, AttributeValue] = {}
    budget = _root_budget()
    for key, value in spec.params.items():
        if len(copied) >= budget:
            return copied
        if isinstance(key, str) and key:
            clean_key = values.clean_text(key, redact=redact)
            copied[attributes.PARAM_PREFIX + clean_key] = _quiet_encode(key, value, redact)
    for key, value in spec.extra_attributes.items():
        if len(copied) >= budget:
            return copied
        clean_key = values.clean_text(key, redact=redact)
        copied[attributes.RUN_ATTRIBUTE_PREFIX + clean_key] = _quiet_encode(key, value, redact)
    return copied


def _root_budget() -> int:
    """How many user attributes fit on a root span beside spanflow's own, under the limit."""
    # The SDK provider keeps its limits privately; a provider without them uses the OTEL_*
    # environment defaults, which is what SpanLimits() reads.
    limits = getattr(trace.get_tracer_provider(), "_span_limits", None)
    limit = getattr(limits if limits is not None else SpanLimits(), "max_span_attributes", None)
    if not isinstance(limit, int):
        return run_limits.ROOT_SPAN_USER_ATTRIBUTES
    own = run_limits.ROOT_SPAN_OWN_ATTRIBUTES
    return max(0, min(run_limits.ROOT_SPAN_USER_ATTRIBUTES, limit - own))


def _quiet_encode(key: str, value: Any, redact: bool) -> AttributeValue:
    # The run record carries the same value and warns about it; the root copy stays silent.
    encoded: AttributeValue
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        encoded = str(value)  # as the run record has it: OTLP cannot encode it as an int
    elif isinstance(value, bool | int | float | str):
        encoded = value
    else:
        try:
            encoded = json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=True)
        except (TypeError, ValueError, RecursionError):
            encoded = repr(value)[:256]
    cleaned: AttributeValue = redaction.value(key, encoded, redact=redact)
    return cleaned


def status_for(error: BaseException | None) -> str:
    """The run status an exception (or none) ending the ``with`` block means."""
    if error is None:
        return RunStatus.COMPLETED
    if isinstance(error, KeyboardInterrupt | asyncio.CancelledError | GeneratorExit):
        return RunStatus.CANCELLED
    if isinstance(error, SystemExit):
        return RunStatus.COMPLETED if error.code in (None, 0) else RunStatus.FAILED
    return RunStatus.FAILED


def finish_run(handle: RunHandle, status: str, error: BaseException | None = None) -> None:
    """End the run's root span with ``status``; a second call for the same run does nothing."""
    liveness.heartbeats.remove(handle)
    if not handle._owned_by_this_process() or not handle._set_status(status):
        return
    span = handle._span_for_lifecycle()
    if span is None:
        return
    span.set_attribute(attributes.RUN_STATUS, status)
    pipeline.stamp_dropped_spans(span)  # a run that lost spans says so
    guard.stamp_run(span)  # and one during which spanflow failed somewhere
    if status == RunStatus.COMPLETED:
        span.set_status(Status(StatusCode.OK))
    elif error is not None and status == RunStatus.FAILED:
        record_error(span, error, timestamp=clock.time_ns(), escaped=True)
        span.set_attribute(attributes.ERROR_MESSAGE, redaction.error_text(error))
    else:
        if error is not None:
            span.set_attribute(attributes.ERROR_TYPE, type(error).__qualname__)
        span.set_status(Status(StatusCode.ERROR, status))
    span.end(end_time=clock.time_ns())


def close_run(handle: RunHandle, token: object, error: BaseException | None) -> None:
    """Leave the run's ``with`` block: end it by what ``error`` means and restore the context."""
    try:
        finish_run(handle, status_for(error), error)
    except Exception:
        report_internal_error("ending a run")
    if handle.parent_id is None:
        try:
            forget_run_tree(handle.id)
        except Exception:
            report_internal_error("dropping a run's dataflow index")
    try:
        otel_context.detach(token)  # type: ignore[arg-type]
    except Exception:
        report_internal_error("restoring the context after a run")


def open_runs() -> Sequence[RunHandle]:
    """Runs opened in this process that have not ended."""
    return [handle for handle in liveness.heartbeats.open_runs() if handle._owned_by_this_process()]


def end_open_runs_as_interrupted() -> int:
    """End every run this process still has open as ``interrupted``; returns how many."""
    ended = 0
    for handle in open_runs():
        try:
            finish_run(handle, attributes.RunStatus.INTERRUPTED)
            ended += 1
        except Exception:
            report_internal_error("ending an open run at exit")
    return ended


exit_hooks.set_open_runs_ender(end_open_runs_as_interrupted)
