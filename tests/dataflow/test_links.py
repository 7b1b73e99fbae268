"""What dataflow detection records on spans, and the switches and guarantees around it."""

from __future__ import annotations

import logging
import threading

import pytest

from spanflow import attributes as attr
from spanflow.dataflow import (
    CallInputs,
    CallOutputs,
    TextField,
    dataflow_mode,
    get_detector,
    on_call_end,
    on_call_start,
    set_dataflow,
)
from spanflow.dataflow.detector import DataflowDetector
from spanflow.dataflow.scope import CallScope
from tests.dataflow.conftest import Harness
from tests.dataflow.prose import prose


def test_link_carries_type_how_score_and_fields(harness: Harness) -> None:
    """A consumer's link to its producer says dataflow, how, score, input and output field."""
    answer = prose("answer", 4)
    harness.call("producer", ["Tell me about the granite quarry."], [answer])
    harness.call("consumer", ["Be brief.", f"Summarize: {answer}"], ["ok"])
    links = harness.finished()["consumer"].links
    assert len(links) == 1
    link = links[0]
    assert link.context.span_id == harness.finished()["producer"].context.span_id
    assert dict(link.attributes or {}) == {
        attr.LINK_TYPE: attr.LinkTypeValue.DATAFLOW,
        attr.LINK_HOW: attr.LinkHowValue.VERBATIM,
        attr.LINK_SCORE: 1.0,
        attr.LINK_INPUT_FIELDS: ("messages[1].content",),
        attr.LINK_OUTPUT_FIELD: "choices[0].message.content",
    }


def test_previous_response_id_links_with_how_response_id(harness: Harness) -> None:
    """A Responses API call chained by previous_response_id links to the call that answered."""
    first = CallOutputs(
        fields=(TextField("output[0].content[0].text", "Hello."),), response_id="r1"
    )
    harness.call("first", ["Hi"], first)
    chained = CallInputs(
        fields=(TextField("input[0].content", "Go on"),), previous_response_id="r1"
    )
    harness.call("second", chained, ["More."])
    (link,) = harness.finished()["second"].links
    assert (link.attributes or {})[attr.LINK_HOW] == attr.LinkHowValue.RESPONSE_ID
    assert (link.attributes or {})[attr.LINK_INPUT_FIELDS] == ("previous_response_id",)


def test_short_number_links_but_a_single_digit_does_not(harness: Harness) -> None:
    """'42' reused in 'Add 1 to 42' links; a reply of '1' does not link every later '1'."""
    harness.call("times", ["What is 6 times 7?"], ["42"])
    harness.call("moons", ["How many moons does Earth have?"], ["1"])
    harness.call("add", ["Add 1 to 42 and say 1 word."], ["43"])
    assert harness.producers_of("add") == ["times"]


def test_failed_call_adds_links_but_registers_no_output(harness: Harness) -> None:
    """A call that failed (outputs None) still gets its links, and feeds nothing later."""
    text = prose("failed", 4)
    harness.call("producer", ["Write."], [text])
    harness.call("failed", [text], None)
    harness.call("later", [text], ["ok"])
    assert harness.producers_of("failed") == ["producer"]
    assert harness.producers_of("later") == ["producer"]


def test_runs_are_isolated_and_subruns_see_their_parent(harness: Harness) -> None:
    """Another run never links; a subrun reads its parent's outputs and the parent its own."""
    from spanflow.dataflow.scope import declare_run

    text = prose("parent", 4)
    parent, child, other = (f"{harness.run_id}-{n}" for n in ("parent", "child", "other"))
    declare_run(child, parent)
    harness.call("made", ["Write."], [text], run_id=parent)
    harness.call("elsewhere", [text], ["x"], run_id=other)
    harness.call("in_child", [text], [prose("child-out", 4)], run_id=child)
    harness.call("back_in_parent", [prose("child-out", 4)], ["y"], run_id=parent)
    assert harness.producers_of("elsewhere") == []
    assert harness.producers_of("in_child") == ["made"]
    assert harness.producers_of("back_in_parent") == ["in_child"]


@pytest.mark.parametrize("value", ["false", "0", "off", "no"])
def test_env_switch_turns_detection_off(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """SPANFLOW_DATAFLOW=false records no links and hands instrumentation no handle."""
    monkeypatch.setenv("SPANFLOW_DATAFLOW", value)
    set_dataflow(enabled=None)  # back to what the environment says
    assert dataflow_mode() == "off"
    text = prose("off", 4)
    harness.call("producer", ["Write."], [text])
    harness.call("consumer", [text], ["ok"])
    assert harness.finished()["consumer"].links == ()


def test_env_switch_inline_runs_on_the_callers_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """SPANFLOW_DATAFLOW=inline selects the caller-thread detector; unset means background."""
    monkeypatch.setenv("SPANFLOW_DATAFLOW", "inline")
    set_dataflow(enabled=None)
    detector = get_detector()
    assert dataflow_mode() == "inline" and detector is not None and detector.inline
    monkeypatch.delenv("SPANFLOW_DATAFLOW")
    set_dataflow(enabled=None)
    assert dataflow_mode() == "background"


def test_seam_never_raises_on_bad_input(caplog: pytest.LogCaptureFixture) -> None:
    """Garbage spans or records make on_call_start/on_call_end return quietly, logged once."""
    set_dataflow(enabled=True, inline=True)
    try:
        with caplog.at_level(logging.WARNING, logger="spanflow"):
            assert on_call_start(object(), CallInputs(fields=())) is None
            on_call_end(object(), None)
            on_call_end(None, CallOutputs(fields=()))
    finally:
        set_dataflow(enabled=None)


def test_concurrent_threads_each_get_their_own_edges(harness: Harness) -> None:
    """Calls from many threads at once link to their own producers, not a neighbour's."""
    errors: list[BaseException] = []

    def agent(n: int) -> None:
        try:
            text = prose(f"thread-{n}", 4)
            run_id = f"{harness.run_id}-t{n}"
            harness.call(f"p{n}", [f"Task {n}"], [text], run_id=run_id)
            harness.call(f"c{n}", [f"Use: {text}"], ["ok"], run_id=run_id)
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=agent, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    for n in range(8):
        assert harness.producers_of(f"c{n}") == [f"p{n}"]


def test_memory_bound_evicts_least_recently_used_run_trees() -> None:
    """Past the byte budget the detector drops whole old runs, keeping the current one."""
    detector = DataflowDetector(inline=True, max_index_bytes=400_000)
    from opentelemetry.trace import SpanContext, TraceFlags

    for n in range(12):
        context = SpanContext(1, n + 1, is_remote=False, trace_flags=TraceFlags(1))
        outputs = CallOutputs(fields=(TextField("output", prose(f"mem-{n}", 60)),))
        detector.register_output(context, CallScope(f"run-{n}"), outputs)
    assert detector.memory_bytes() <= 400_000
    assert detector.run_tree_keys()[-1] == "run-11"
    assert len(detector.run_tree_keys()) < 12


def test_forget_run_drops_its_index(harness: Harness) -> None:
    """After forget_run, a run's earlier outputs no longer link (its index is gone)."""
    text = prose("forget", 4)
    harness.call("producer", ["Write."], [text])
    detector = get_detector()
    assert detector is not None
    detector.forget_run(harness.run_id)
    harness.call("consumer", [text], ["ok"])
    assert harness.producers_of("consumer") == []


def test_step_argument_parsed_from_a_reply_links_but_a_constant_does_not(harness: Harness) -> None:
    """A step argument cut out of a reply links to it; a word the run already knew does not."""
    harness.call("setup", ["Answer fast. Use the search tool."], ["Understood."])
    harness.call(
        "think",
        ["Find the Shard's height."],
        ["Thought: search it, fast.\nAction: search[Shard height]"],
    )
    harness.call("search", ["Shard height"], ["309.6 metres"], kind=attr.SpanKindValue.STEP)
    harness.call("mode", ["fast"], ["ok"], kind=attr.SpanKindValue.STEP)
    assert harness.producers_of("search") == ["think"]
    assert harness.producers_of("mode") == []
