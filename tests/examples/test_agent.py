"""The example agent runs end to end over the fake LLM server and records one subrun per sample."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import openai
import pytest
from tests.environments import child_environment

import spanflow
from spanflow import attributes
from spanflow.testing import capture_spans
from spanflow.testing.fake_llm import FakeLLMServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
README = EXAMPLES.parent / "README.md"


def load_agent() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_agent", EXAMPLES / "agent.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_evaluation_records_a_run_with_a_subrun_per_sample() -> None:
    """Every sample is answered correctly, as a subrun with its metrics and tool steps."""
    agent = load_agent()
    with (
        capture_spans() as capture,
        FakeLLMServer(agent.fake_model) as llm,
        openai.OpenAI(base_url=llm.openai_base_url, api_key="t", max_retries=0) as client,
    ):
        evaluation = agent.evaluate(client, model="gpt-4o-mini", name="eval-test")
        runs = capture.runs()
    assert evaluation.accuracy == 1.0
    (outer,) = [run for run in runs if run.name == "eval-test"]
    assert outer.id == evaluation.run_id
    assert outer.status == "completed"
    assert outer.metrics["accuracy"] == 1.0
    samples = {run.name: run for run in runs if run.parent_id == outer.id}
    assert set(samples) == {f"sample-{s.id}" for s in agent.SAMPLES}
    france = samples["sample-france-x2"]
    assert france.metrics == {"correct": 1.0, "llm_calls": 4.0, "tool_calls": 2.0}
    steps = [s for s in france.spans if s.spanflow_kind == attributes.SpanKindValue.STEP]
    assert [s.attributes[attributes.STEP_NAME] for s in steps] == ["lookup", "calculator"]
    assert steps[1].attributes[attributes.STEP_INPUT] == '{"expression":"68 * 2"}'
    # 3 samples: planner + tool turns + answer = 4 + 4 + 3 chat requests.
    assert len(llm.requests) == 11


def test_agent_script_runs_standalone() -> None:
    """`python examples/agent.py` starts its own fake model and reports full accuracy."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "agent.py")],
        env={"PATH": "", "SPANFLOW_EXPORTERS": "none", "PYTHONPATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("accuracy 1.00")


def test_agent_run_as_documented_records_its_llm_calls_and_the_readme_graph_line_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python examples/agent.py` records every LLM call; README's spanflow.graph line draws one."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "agent.py")],
        cwd=tmp_path,
        env=child_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[1].rstrip(":")
    with spanflow.Client(tmp_path / ".spanflow" / "index.db") as client:
        samples = {run.name: run for run in client.children(run_id)}
    assert sum(run.llm_call_count for run in samples.values()) == 11  # as the fake model answers
    assert samples["sample-france-x2"].llm_call_count == 4

    (line,) = re.findall(r"`(spanflow\.graph\(run_id\)[^`]*)`", README.read_text())
    for name in ("SPANFLOW_ENDPOINT", "SPANFLOW_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # where the script wrote its index, as a user would be
    drawn = eval(line, {"spanflow": spanflow, "run_id": samples["sample-france-x2"].id})
    assert drawn.startswith("flowchart LR")
    assert '"tool_call 1.00"' in drawn


def test_demo_prints_the_runs_it_produced(tmp_path: Path) -> None:
    """`make demo` evaluates the agent, then lists its runs, a sample's tree and dataflow graph."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "demo.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "demo-eval" in done.stdout
    for sample in ("sample-france-x2", "sample-eiffel-feet", "sample-product"):
        assert sample in done.stdout
    assert (tmp_path / ".spanflow" / "index.db").is_file()
    tree = done.stdout.split("$ spanflow runs tree")[1].split("$ spanflow runs graph")[0]
    assert "sample-france-x2" in tree and "lookup" in tree and "calculator" in tree
    graph = done.stdout.split("$ spanflow runs graph")[1]
    assert "flowchart LR" in graph
    assert '"tool_call 1.00"' in graph
    assert done.stdout.splitlines()[-1].startswith("Open these runs in your browser: spanflow ui")
