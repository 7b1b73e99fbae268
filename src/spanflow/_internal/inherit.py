"""Hand the current run to child processes, and pick it up in the child.

A child process learns its parent's run from two values: W3C ``TRACEPARENT`` (the span the
child's spans hang under) and ``SPANFLOW_RUN_CONTEXT`` (JSON: run id, name, project, segment
and the run's root span). ``subprocess.Popen`` children get them as environment variables;
``multiprocessing`` children (fork, spawn and forkserver) get them as an attribute of their
``Process`` object, which travels to the child with it. Both are set only while a run is
current, from the context of the code that starts the child, so concurrent runs never share
one process-wide value.

In the child, ``parent_run.inherited_run`` returns a read-only handle of that run: spans started
outside any run are stamped with its id, and a run opened in the child is its subrun.

``ProcessPropagationInstrumentor`` wraps ``subprocess.Popen.__init__`` and
``multiprocessing.process.BaseProcess.start`` to hand the carrier over (see
``process_instrumentor.py`` for how it is undone). A failure while preparing the carrier is
reported and the child starts as it would without spanflow.
"""

from __future__ import annotations

import json
import multiprocessing.process
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import NonRecordingSpan, SpanContext
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from spanflow import environment as env
from spanflow._internal import membership, parent_run
from spanflow._internal.guard import report_internal_error
from spanflow._internal.handle import RunHandle
from spanflow._internal.parent_run import DATAFLOW_ATTRIBUTE, PROCESS_ATTRIBUTE
from spanflow._internal.process_instrumentor import MethodPatch, ProcessInstrumentor
from spanflow.dataflow.switch import current_detector

_ENV_POPEN_ARGUMENT_INDEX = 10  # ``env`` is Popen's 11th positional parameter
_propagator = TraceContextTextMapPropagator()


def carrier_for_current_run() -> dict[str, str]:
    """``TRACEPARENT`` and ``SPANFLOW_RUN_CONTEXT`` for a child started now; empty outside runs.

    Also empty under OpenTelemetry's ``suppress_instrumentation``: a child cannot inherit the
    suppression, so it is not handed the run of code that asked not to be instrumented.
    """
    handle = membership.current_run()
    if handle is None or not is_instrumentation_enabled():
        return {}
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    root = handle.root_span_context
    run_context: dict[str, Any] = {
        "id": handle.id,
        "name": handle.name,
        "project": handle.project,
        "segment": handle.segment,
        "parent_id": handle.parent_id,
    }
    if root is not None and root.is_valid:
        run_context["root"] = f"{root.trace_id:032x}-{root.span_id:016x}"
    variables = {env.SPANFLOW_RUN_CONTEXT: json.dumps(run_context, separators=(",", ":"))}
    if "traceparent" in carrier:
        variables[env.TRACEPARENT] = carrier["traceparent"]
    return variables


def adopt_parent_context() -> None:
    """Make the parent process's span current in this thread if nothing is current yet.

    Called when spanflow is configured in a child process's main thread, and again when a
    ``multiprocessing`` child starts running its target, so spans started there outside any run
    hang under the parent's span.
    """
    handle, parent_span = parent_run.parent_run_and_span()
    if parent_span is None or threading.current_thread() is not threading.main_thread():
        return
    if trace.get_current_span().get_span_context().is_valid:
        return
    otel_context.attach(_context_of(handle, parent_span))


def _context_of(handle: RunHandle | None, parent_span: SpanContext) -> otel_context.Context:
    context = trace.set_span_in_context(NonRecordingSpan(parent_span))
    if handle is not None:
        context = otel_context.set_value(membership.RUN_CONTEXT_KEY, handle, context)
    return context


def context_from_carrier(variables: Mapping[str, str]) -> otel_context.Context | None:
    """The context a carrier from :func:`carrier_for_current_run` describes, or ``None``."""
    handle, parent_span = parent_run.parse_carrier(variables)
    return None if parent_span is None else _context_of(handle, parent_span)


def _popen_init(
    wrapped: Any, instance: subprocess.Popen[Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    if len(args) <= _ENV_POPEN_ARGUMENT_INDEX:
        try:
            kwargs = _with_run_environment(kwargs)
        except Exception:
            report_internal_error("passing the run to a subprocess")
    return wrapped(*args, **kwargs)


def _with_run_environment(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Popen's keyword arguments with the run's variables added to ``env`` (a new dict)."""
    variables = carrier_for_current_run()
    if not variables:
        return kwargs
    base = kwargs.get("env")
    child_env = dict(os.environ if base is None else base)
    for key, value in variables.items():
        if base is None:
            child_env[key] = value  # the current run wins over an inherited one
        else:
            child_env.setdefault(key, value)  # an explicit env wins
    return {**kwargs, "env": child_env}


def _process_start(
    wrapped: Any,
    instance: multiprocessing.process.BaseProcess,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    try:
        variables = carrier_for_current_run()
        if variables:
            setattr(instance, PROCESS_ATTRIBUTE, variables)
            snapshot = _dataflow_snapshot(instance)
            if snapshot is not None:
                setattr(instance, DATAFLOW_ATTRIBUTE, snapshot)
    except Exception:
        report_internal_error("passing the run to a process")
    return wrapped(*args, **kwargs)


def _dataflow_snapshot(process: multiprocessing.process.BaseProcess) -> bytes | None:
    """The run tree's dataflow index for a child that will not inherit memory (spawn)."""
    method = getattr(process, "_start_method", None) or multiprocessing.get_start_method(
        allow_none=True
    )
    if method is None:  # the platform's default, without fixing it as get_start_method() would
        forks = sys.platform.startswith("linux") and sys.version_info < (3, 14)
        method = "fork" if forks else "spawn"
    if method == "fork":
        return None
    detector, handle = current_detector(), membership.current_run()
    if detector is None or handle is None:
        return None
    return detector.snapshot_tree(handle.id)


class ProcessPropagationInstrumentor(ProcessInstrumentor):
    """Hands the current run to ``subprocess`` and ``multiprocessing`` children."""

    patches = (
        MethodPatch(subprocess.Popen, "__init__", _popen_init),
        MethodPatch(multiprocessing.process.BaseProcess, "start", _process_start),
    )
