"""Runs and subruns as root spans: naming, ids, attributes, links, the three usage forms."""

from __future__ import annotations

import asyncio
import re

import pytest

import spanflow
from spanflow import attributes
from spanflow.testing import SpanCapture

ULID_PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def test_a_run_is_a_root_span_with_id_name_project_tags_and_params(
    spanflow_capture: SpanCapture,
) -> None:
    """`with run(...)` exports one root span carrying the run's identity and params."""
    with spanflow.run(
        "eval-7", project="evals", tags=["nightly", "gpt"], params={"k": 3, "cfg": {"t": 0.1}}
    ) as handle:
        assert spanflow.current_run() is handle
    captured = spanflow_capture.run("eval-7")
    assert captured.root.parent_span_id is None
    assert captured.id == handle.id and ULID_PATTERN.match(handle.id)
    assert captured.project == "evals"
    assert captured.tags == ["nightly", "gpt"]
    assert captured.params == {"k": 3, "cfg": {"t": 0.1}}
    assert captured.root.attributes[attributes.PARAM_PREFIX + "cfg"] == '{"t": 0.1}'
    assert captured.status == "completed" and captured.root.status == "OK"
    assert spanflow.current_run() is None


def test_a_run_without_a_name_gets_a_readable_generated_one(
    spanflow_capture: SpanCapture,
) -> None:
    """No name gives an adjective-animal-number name such as brave-otter-417."""
    with spanflow.run() as handle:
        pass
    assert handle.name is not None and re.match(r"^[a-z]+-[a-z]+-\d{3}$", handle.name)
    assert spanflow_capture.runs()[0].name == handle.name


def test_run_ids_are_unique_and_sort_in_creation_order(spanflow_capture: SpanCapture) -> None:
    """Ids of runs opened one after another sort in the order the runs were opened."""
    made = []
    for _ in range(50):
        with spanflow.run() as handle:
            made.append(handle.id)
    assert len(set(made)) == 50
    assert made == sorted(made)


def test_free_attributes_are_recorded_under_the_run_attribute_prefix(
    spanflow_capture: SpanCapture,
) -> None:
    """`run(..., dataset="gsm8k")` becomes spanflow.run.attr.dataset on the root span."""
    with spanflow.run("attrs", dataset="gsm8k", shards=4, extra={"a": [1]}):
        pass
    root = spanflow_capture.run("attrs").root
    assert root.attributes["spanflow.run.attr.dataset"] == "gsm8k"
    assert root.attributes["spanflow.run.attr.shards"] == 4
    assert root.attributes["spanflow.run.attr.extra"] == '{"a": [1]}'


def test_a_subrun_has_its_own_trace_the_parent_id_and_a_link_to_the_parent_root(
    spanflow_capture: SpanCapture,
) -> None:
    """A run inside a run is a subrun: new trace, parent_id, and a parent_run link."""
    with spanflow.run("parent") as parent, spanflow.run("child") as child:
        assert child.parent_id == parent.id
        assert spanflow.current_run() is child
    parent_run = spanflow_capture.run("parent")
    child_run = spanflow_capture.run("child")
    assert child_run.root.parent_span_id is None
    assert child_run.root.trace_id != parent_run.root.trace_id
    assert child_run.parent_id == parent_run.id
    (link,) = child_run.root.links
    assert link.span_id == parent_run.root.span_id and link.trace_id == parent_run.root.trace_id
    assert link.attributes == {attributes.LINK_TYPE: attributes.LinkTypeValue.PARENT_RUN}
    assert parent_run.parent_id is None


def test_a_subrun_inherits_its_parents_project_unless_given_one(
    spanflow_capture: SpanCapture,
) -> None:
    """Subruns land in the parent's project; an explicit project= still wins."""
    with spanflow.run("outer", project="evals"):
        with spanflow.run("inherits") as inherits:
            assert inherits.project == "evals"
        with spanflow.run("elsewhere", project="scratch") as elsewhere:
            assert elsewhere.project == "scratch"
    assert spanflow_capture.run("inherits").root.attributes[attributes.PROJECT] == "evals"
    assert spanflow_capture.run("elsewhere").root.attributes[attributes.PROJECT] == "scratch"


def test_launch_is_an_alias_of_run(spanflow_capture: SpanCapture) -> None:
    """`spanflow.launch` opens runs exactly like `spanflow.run`."""
    assert spanflow.launch is spanflow.run
    with spanflow.launch("launched"):
        pass
    assert spanflow_capture.run("launched").status == "completed"


def test_run_decorates_sync_functions_with_a_fresh_run_per_call(
    spanflow_capture: SpanCapture,
) -> None:
    """Each call of a decorated function is its own run and returns the function's value."""

    @spanflow.run("decorated", params={"x": 1})
    def work(value: int) -> int:
        handle = spanflow.current_run()
        assert handle is not None and handle.name == "decorated"
        return value * 2

    assert work(2) == 4
    assert work(3) == 6
    assert work.__name__ == "work"
    runs = spanflow_capture.runs()
    assert [run.name for run in runs] == ["decorated", "decorated"]
    assert runs[0].id != runs[1].id


def test_bare_decorator_form_works_on_sync_and_async_functions(
    spanflow_capture: SpanCapture,
) -> None:
    """`@spanflow.run` without parentheses wraps the function in a run too."""

    @spanflow.run
    def plain() -> str:
        assert spanflow.current_run() is not None
        return "done"

    @spanflow.run
    async def coroutine() -> str:
        assert spanflow.current_run() is not None
        return "async done"

    assert plain() == "done"
    assert asyncio.run(coroutine()) == "async done"
    assert len(spanflow_capture.runs()) == 2


def test_async_with_and_async_decorator_open_runs(spanflow_capture: SpanCapture) -> None:
    """`async with run()` and an async decorated function each make a run."""

    @spanflow.run("async-decorated")
    async def decorated() -> int:
        await asyncio.sleep(0)
        return 7

    async def main() -> int:
        async with spanflow.run("async-with") as handle:
            assert spanflow.current_run() is handle
            return await decorated()

    assert asyncio.run(main()) == 7
    outer = spanflow_capture.run("async-with")
    inner = spanflow_capture.run("async-decorated")
    assert inner.parent_id == outer.id


def test_decorating_a_generator_function_is_refused() -> None:
    """A generator function would outlive its run, so decorating one raises TypeError."""
    with pytest.raises(TypeError, match="generator"):

        @spanflow.run("gen")
        def generate() -> object:
            yield 1


def test_spans_started_inside_a_run_carry_its_run_id(spanflow_capture: SpanCapture) -> None:
    """Every span started while a run is current is stamped with spanflow.run.id."""
    from opentelemetry import trace

    tracer = trace.get_tracer("test")
    with spanflow.run("membership") as handle:
        with tracer.start_as_current_span("work"):
            pass
        with spanflow.run("nested") as nested, tracer.start_as_current_span("nested-work"):
            pass
    with tracer.start_as_current_span("outside"):
        pass
    by_name = {span.name: span for span in spanflow_capture.spans()}
    assert by_name["work"].run_id == handle.id
    assert by_name["nested-work"].run_id == nested.id
    assert by_name["outside"].run_id is None
    assert [s.name for s in spanflow_capture.run("membership").work_spans] == ["work"]


def test_resume_opens_a_new_segment_of_the_same_run(spanflow_capture: SpanCapture) -> None:
    """`run(resume=id)` makes a new root span with the same run id and the next segment."""
    with spanflow.run("resumable") as first:
        pass
    with spanflow.run(resume=first.id) as second:
        assert second.id == first.id and second.segment == 1 and second.name == "resumable"
    with spanflow.run(resume=second) as third:
        assert third.segment == 2
    roots = [run.root for run in spanflow_capture.runs()]
    assert [root.attributes[attributes.RUN_SEGMENT] for root in roots] == [0, 1, 2]
    assert {root.trace_id for root in roots}.__len__() == 3
    link = roots[1].links[0]
    assert link.span_id == roots[0].span_id
    assert link.attributes[attributes.LINK_TYPE] == attributes.LinkTypeValue.RESUME


def test_resuming_an_unknown_run_id_starts_at_segment_one(spanflow_capture: SpanCapture) -> None:
    """A run id this process never saw resumes as segment 1 with no name of its own."""
    with spanflow.run(resume="01J00000000000000000000000", project="p") as handle:
        assert handle.segment == 1 and handle.name is None
    (captured,) = spanflow_capture.runs()
    assert captured.id == "01J00000000000000000000000"
    assert attributes.RUN_NAME not in captured.root.attributes


def test_an_explicit_id_is_used_as_given(spanflow_capture: SpanCapture) -> None:
    """`run(id=...)` uses the caller's id."""
    with spanflow.run("fixed", id="my-run-id") as handle:
        assert handle.id == "my-run-id"
    assert spanflow_capture.run("fixed").id == "my-run-id"


def test_capture_ids_and_clock_are_deterministic(spanflow_capture: SpanCapture) -> None:
    """Within a capture, trace ids count up from 1 and timestamps step from a fixed epoch."""
    with spanflow.run("first"):
        pass
    root = spanflow_capture.run("first").root
    assert int(root.trace_id, 16) < 100
    assert root.start_time_ns >= 1_704_067_200_000_000_000
    assert root.end_time_ns > root.start_time_ns
