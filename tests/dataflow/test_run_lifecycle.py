"""Dataflow and the run lifecycle: configure(dataflow=) and the index of a finished run."""

from __future__ import annotations

import openai
import pytest

import spanflow
from spanflow.dataflow import dataflow_mode, get_detector, set_dataflow
from spanflow.testing import FakeLLMServer, SpanCapture


@pytest.fixture(autouse=True)
def _environment_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPANFLOW_DATAFLOW", raising=False)
    set_dataflow(enabled=None)


def test_configure_switches_detection(spanflow_capture: SpanCapture) -> None:
    """configure(dataflow=False) turns detection off; a later call without it follows the
    environment (every configure() starts over), and "inline" moves matching to the caller."""
    try:
        spanflow.configure(exporters=["none"], dataflow=False)
        assert dataflow_mode() == "off" and get_detector() is None
        spanflow.configure(exporters=["none"])
        assert dataflow_mode() == "background"
        spanflow.configure(exporters=["none"], dataflow="inline")
        detector = get_detector()
        assert dataflow_mode() == "inline" and detector is not None and detector.inline
        spanflow.configure(exporters=["none"], dataflow=True)
        assert dataflow_mode() == "background"
    finally:
        set_dataflow(enabled=None)


def test_a_finished_top_level_run_drops_its_index(spanflow_capture: SpanCapture) -> None:
    """Outputs indexed for a run tree are dropped when its top-level run ends, not before."""
    spanflow.instrument("openai")
    try:
        with (
            FakeLLMServer() as llm,
            openai.OpenAI(base_url=llm.openai_base_url, api_key="t", max_retries=0) as client,
        ):
            with spanflow.run("top") as top:
                with spanflow.run("sample"):
                    client.chat.completions.create(
                        model="m", messages=[{"role": "user", "content": "Write a haiku."}]
                    )
                detector = get_detector()
                assert detector is not None and detector.flush()
                assert top.id in detector.run_tree_keys()  # a subrun's end keeps the tree
            assert detector.flush()
            assert top.id not in detector.run_tree_keys()
    finally:
        spanflow.uninstrument()
