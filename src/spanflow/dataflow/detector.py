"""The dataflow detector: run trees, the worker that matches off the caller's path, span links.

``start_call`` hands the consumer's inputs to a single worker thread and returns at once; the
worker matches them while the request is in flight. ``end_call`` waits (bounded) for that result,
adds the links while the span is still open, and queues the call's outputs for indexing. One
worker owns every index, so the indexes need no locks of their own and producers are registered
in the order calls end. With ``SPANFLOW_DATAFLOW=inline`` the same work runs on the caller's
thread instead. Each job runs under one job lock, which a ``fork()`` takes too: a child process
never inherits an index that a job was halfway through changing.

Jobs run strictly in the order they were queued, but only jobs somebody waits for (a match, a
flush, a snapshot) wake the worker: indexing a call's outputs waits in the queue for the next
wake, so a call costs one thread wake-up instead of two.
"""

from __future__ import annotations

import itertools
import logging
import pickle
import queue
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import SpanContext

from spanflow import attributes as attr
from spanflow._internal import fork_hooks
from spanflow._internal.fork_hooks import ForkStage
from spanflow._internal.guard import report_internal_error
from spanflow.dataflow.index import Producer, RunTreeIndex
from spanflow.dataflow.matcher import Edge, match_call
from spanflow.dataflow.records import CallInputs, CallOutputs
from spanflow.dataflow.scope import CallScope
from spanflow.dataflow.text import FingerprintCache

logger = logging.getLogger("spanflow.dataflow")

DEFAULT_MAX_INDEX_BYTES = 64 * 1024 * 1024
"""Approximate bytes the indexes of all run trees may hold; least recently used trees go first."""
DEFAULT_MAX_RUN_TREES = 64
RESULT_TIMEOUT_S = 2.0


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class PendingCall:
    """A consumer in flight: its span, scope and, once matched, its call number and edges.

    ``done`` is a lock held from the start and released once the match is in: the caller
    waits for it by acquiring it. One release and one wait per call, so a plain lock does what
    an ``Event`` would, without building a ``Condition`` on every call.
    """

    span: Any
    scope: CallScope
    inputs: CallInputs
    done: threading.Lock = field(default_factory=_held_lock)
    call_seq: int = 0
    tree_key: str = ""
    edges: list[Edge] = field(default_factory=list)


class DataflowDetector:
    """Owns the per-run-tree indexes and the worker; one per process."""

    def __init__(
        self,
        *,
        inline: bool = False,
        max_index_bytes: int = DEFAULT_MAX_INDEX_BYTES,
        max_run_trees: int = DEFAULT_MAX_RUN_TREES,
    ) -> None:
        self.inline = inline
        self.max_index_bytes = max_index_bytes
        self.max_run_trees = max_run_trees
        self.cache = FingerprintCache()
        self._trees: OrderedDict[str, RunTreeIndex] = OrderedDict()
        self._parents: dict[str, str | None] = {}
        # Held while a job runs (on the worker, or on the caller's thread inline), and by a
        # fork: a forked child never inherits an index that a job was halfway through changing.
        self._job_lock = threading.Lock()
        fork_hooks.hold_lock(ForkStage.DATAFLOW, self, "_job_lock")
        # Every job, in order (deque appends and pops are atomic); the queue only wakes the worker.
        self._jobs: deque[Callable[[], None]] = deque()
        self._wakeups: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self._warned: set[str] = set()

    # --- the seam -----------------------------------------------------------------------------
    def start_call(self, span: Any, scope: CallScope, inputs: CallInputs) -> PendingCall:
        """Queue the consumer's inputs for matching and return its pending handle."""
        pending = PendingCall(span, scope, inputs)
        self._submit(lambda: self._match(pending))
        return pending

    def end_call(self, pending: PendingCall, outputs: CallOutputs | None) -> None:
        """Add the consumer's links to its span and queue its outputs for indexing."""
        done = pending.done
        if done.acquire(False) if self.inline else done.acquire(timeout=RESULT_TIMEOUT_S):
            add_links(pending.span, pending.edges)
        else:
            self.warn_once("slow", "dataflow matching did not finish in time; links skipped")
        if outputs is not None and (outputs.fields or _has_ids(outputs)):
            context = pending.span.get_span_context()
            # Nobody waits for the indexing: it runs before the next job that wakes the worker.
            self._submit(lambda: self._register(pending, context, outputs), wake=False)

    def register_output(self, context: SpanContext, scope: CallScope, outputs: CallOutputs) -> None:
        """Index ``outputs`` as produced by the span ``context`` (explicit origin marking)."""
        pending = PendingCall(None, scope, CallInputs(fields=()))
        self._submit(lambda: self._register(pending, context, outputs))

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every queued job has run; False when ``timeout_s`` passed first."""
        drained = threading.Event()
        self._submit(drained.set)
        return drained.wait(timeout_s)

    def memory_bytes(self) -> int:
        """Approximate bytes the indexes hold over all run trees."""
        return sum(tree.approx_bytes for tree in list(self._trees.values()))

    def forget_run(self, run_key: str) -> None:
        """Drop the index of the run tree ``run_key`` belongs to (e.g. when a top-level run ends).

        Queued behind pending work, so calls already in flight still see it.
        """

        def forget() -> None:
            self._trees.pop(self._root_of(run_key), None)

        self._submit(forget)

    def snapshot_tree(self, run_key: str, timeout_s: float = RESULT_TIMEOUT_S) -> bytes | None:
        """A copy of the index of ``run_key``'s run tree, for a child process to start from.

        Taken by the worker (which owns the indexes) once the work queued before it has run;
        None when the tree is unknown, empty, or the worker did not answer within ``timeout_s``.
        """
        taken: list[bytes] = []
        done = threading.Event()

        def take() -> None:
            try:
                root = self._root_of(run_key)
                tree = self._trees.get(root)
                if tree is not None and tree.outputs:
                    parents = {key: self._parents.get(key) for key in tree.run_parents}
                    data = (root, parents, tree.portable())
                    taken.append(pickle.dumps(data, pickle.HIGHEST_PROTOCOL))
            finally:
                done.set()

        self._submit(take)
        done.wait(timeout_s)
        return taken[0] if taken else None

    def adopt_tree(self, snapshot: bytes) -> None:
        """Start from a parent process's ``snapshot_tree``, unless this process has that tree."""

        def adopt() -> None:
            root, parents, data = pickle.loads(snapshot)  # bytes our parent process made
            if root in self._trees:
                return  # a forked child: it inherited the live index already
            self._trees[root] = RunTreeIndex.from_portable(
                data, cache=self.cache, max_bytes=self.max_index_bytes
            )
            for key, parent in parents.items():
                self._parents.setdefault(key, parent)
            self._evict()

        self._submit(adopt)

    def run_tree_keys(self) -> list[str]:
        """Keys of the run trees currently indexed, least recently used first."""
        return list(self._trees)

    def after_fork_in_child(self) -> None:
        """A forked child keeps the indexes it inherited but needs its own worker and queue.

        Jobs still waiting for a wake-up (outputs not yet indexed) stay queued: the child's
        worker runs them first, so the child sees every call its parent ended before the fork.
        (The job lock is renewed by the hook ``fork_hooks.hold_lock`` registered.)
        """
        self._wakeups = queue.SimpleQueue()
        self._worker = None
        self._worker_lock = threading.Lock()

    # --- jobs, run on the worker (or inline) --------------------------------------------------
    def _match(self, pending: PendingCall) -> None:
        try:
            tree = self._tree_for(pending.scope)
            pending.tree_key = self._root_of(pending.scope.key)
            pending.call_seq, pending.edges = match_call(tree, pending.scope.key, pending.inputs)
        finally:
            pending.done.release()

    def _register(self, pending: PendingCall, context: SpanContext, outputs: CallOutputs) -> None:
        tree = self._tree_for(pending.scope)
        call_seq = pending.call_seq or tree.next_seq()
        producer = Producer(call_seq, tree.next_seq(), context, pending.scope.key)
        tree.register(producer, outputs)
        if tree.full:
            self.warn_once("full", "dataflow index of a run is full; new content is not indexed")
        self._evict()

    def _tree_for(self, scope: CallScope) -> RunTreeIndex:
        chain = (scope.key, *scope.ancestors)
        for child, parent in itertools.pairwise(chain):
            self._parents[child] = parent
        root = self._root_of(scope.key)
        tree = self._trees.get(root)
        if tree is None:
            tree = RunTreeIndex(cache=self.cache, max_bytes=self.max_index_bytes)
            self._trees[root] = tree
        else:
            self._trees.move_to_end(root)
        for child, parent in itertools.pairwise(chain):
            tree.run_parents[child] = parent
        return tree

    def _root_of(self, key: str) -> str:
        seen = {key}
        parent = self._parents.get(key)
        while parent is not None and parent not in seen:
            seen.add(parent)
            key = parent
            parent = self._parents.get(key)
        return key

    def _evict(self) -> None:
        while len(self._trees) > 1 and (
            len(self._trees) > self.max_run_trees or self.memory_bytes() > self.max_index_bytes
        ):
            self._trees.popitem(last=False)

    # --- plumbing -----------------------------------------------------------------------------
    def _submit(self, job: Callable[[], None], *, wake: bool = True) -> None:
        if self.inline:
            with self._job_lock:
                self._run_job(job)
            return
        self._jobs.append(job)
        if wake:
            self._ensure_worker()
            self._wakeups.put(None)

    def _ensure_worker(self) -> None:
        worker = self._worker
        if worker is not None and worker.is_alive():
            return
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name="spanflow-dataflow", daemon=True
                )
                self._worker.start()

    def _work(self) -> None:
        wakeups, jobs = self._wakeups, self._jobs
        while True:
            wakeups.get()
            while jobs:
                with self._job_lock:  # taken from the queue and run as one step
                    if jobs:
                        self._run_job(jobs.popleft())

    def _run_job(self, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:
            report_internal_error("matching dataflow off the caller's path")

    def warn_once(self, key: str, message: str, *, exc: bool = False) -> None:
        """Log ``message`` the first time ``key`` comes up, then only at debug level."""
        if key in self._warned:
            logger.debug(message, exc_info=exc)
            return
        self._warned.add(key)
        logger.warning(message, exc_info=exc)


def add_links(span: Any, edges: list[Edge]) -> None:
    """Add one dataflow link per edge, skipping producers the span already links to."""
    linked = {link.context.span_id for link in getattr(span, "links", ()) or ()}
    for edge in edges:
        context = edge.producer.span_context
        if context.span_id in linked:
            continue
        linked.add(context.span_id)
        span.add_link(context, link_attributes(edge.how, edge.score, edge.input_fields,
                                               edge.output_field))  # fmt: skip


def link_attributes(
    how: str, score: float, input_fields: tuple[str, ...], output_field: str
) -> dict[str, Any]:
    """The attributes of a dataflow span link (see docs/attributes.md)."""
    found: dict[str, Any] = {
        attr.LINK_TYPE: attr.LinkTypeValue.DATAFLOW,
        attr.LINK_HOW: how,
        attr.LINK_SCORE: float(score),
    }
    if input_fields:
        found[attr.LINK_INPUT_FIELDS] = tuple(input_fields)
    if output_field:
        found[attr.LINK_OUTPUT_FIELD] = output_field
    return found


def _has_ids(outputs: CallOutputs) -> bool:
    return bool(outputs.response_id or outputs.tool_call_ids or outputs.item_ids)


def fork_safe(detector_getter: Callable[[], DataflowDetector | None]) -> None:
    """Give forked children a fresh worker for the detector ``detector_getter`` returns."""

    def reset() -> None:
        detector = detector_getter()
        if detector is not None:
            detector.after_fork_in_child()

    fork_hooks.register_in_child(ForkStage.DATAFLOW, reset)
