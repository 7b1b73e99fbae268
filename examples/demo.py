"""``make demo``: evaluate the example agent against the bundled fake LLM, then show its runs.

Nothing leaves the machine: the real ``openai`` client talks to spanflow's fake LLM server on
loopback, and the runs go to the local embedded run index (``.spanflow/index.db``) when it is
installed, and to memory for the summary printed at the end.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Sequence

from agent import evaluate, fake_model  # examples/agent.py, next to this file
from openai import OpenAI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import spanflow
from spanflow import attributes
from spanflow.cli import SUBCOMMAND_MODULES
from spanflow.testing.fake_llm import FakeLLMServer
from spanflow.testing.records import CapturedRun, SpanRecord, assemble_runs, record_from_readable

MODEL = "gpt-4o-mini"


def main() -> int:
    """Run the evaluation, then print the runs it produced."""
    memory = InMemorySpanExporter()
    use_index = importlib.util.find_spec("spanflow_collector.embedded") is not None
    spanflow.configure(exporters=["embedded", memory] if use_index else [memory])
    instrument = getattr(spanflow, "instrument", None)
    if instrument is not None:
        instrument()
    else:
        print("(LLM client instrumentation is not in this build: showing runs and steps)\n")

    with (
        FakeLLMServer(fake_model) as llm,
        OpenAI(base_url=llm.openai_base_url, api_key="fake") as client,
    ):
        evaluation = evaluate(client, model=MODEL, name="demo-eval")
        print(f"Evaluated the example agent: {len(llm.requests)} LLM requests to the fake server")
    spanflow.force_flush()

    if use_index and "runs" in SUBCOMMAND_MODULES:
        _show_from_index(evaluation.run_id)
    else:
        _show_captured(evaluation.run_id, memory)
    return 0


def _show_from_index(run_id: str) -> None:
    """Show the run the way a user would afterwards: with the ``spanflow runs`` CLI."""
    spanflow_cli = shutil.which("spanflow") or ""
    command = [spanflow_cli] if spanflow_cli else [sys.executable, "-m", "spanflow.cli"]
    for arguments in (["runs", "list", "--limit", "4"], ["runs", "show", run_id]):
        print(f"\n$ spanflow {' '.join(arguments)}", flush=True)
        subprocess.run([*command, *arguments], check=False)


def _show_captured(run_id: str, memory: InMemorySpanExporter) -> None:
    """Summarise the run tree from the spans this process exported."""
    runs = assemble_runs(record_from_readable(span) for span in memory.get_finished_spans())
    (evaluation,) = [run for run in runs if run.id == run_id]
    samples = [run for run in runs if run.parent_id == run_id]
    print(f"\nrun {evaluation.name} {evaluation.id}  {evaluation.status}  {_metrics(evaluation)}")
    for sample in samples:
        print(f"  subrun {sample.name:<20} {sample.status:<10} {_metrics(sample)}")
        print(f"      {_span_summary(sample.spans)}")
    for line in _dataflow_lines(samples[0]) if samples else []:
        print(line)


def _metrics(run: CapturedRun) -> str:
    return "  ".join(f"{key}={value:g}" for key, value in sorted(run.metrics.items()))


def _span_summary(spans: Sequence[SpanRecord]) -> str:
    steps = [s.name for s in spans if s.kind == attributes.SpanKindValue.STEP]
    llm_calls = [s for s in spans if s.kind == attributes.SpanKindValue.LLM]
    links = sum(1 for s in spans for link in s.links if _is_dataflow(link.attributes))
    return f"steps: {', '.join(steps) or '-'}; LLM spans: {len(llm_calls)}; dataflow links: {links}"


def _dataflow_lines(sample: CapturedRun) -> list[str]:
    names = {span.span_id: span.name for span in sample.spans}
    lines = [
        f"    {span.name} <- {names.get(link.span_id, link.span_id)}"
        f"  ({link.attributes.get(attributes.LINK_HOW)})"
        for span in sample.spans
        for link in span.links
        if _is_dataflow(link.attributes)
    ]
    return [f"\ndataflow in {sample.name}:", *lines] if lines else []


def _is_dataflow(link_attributes: object) -> bool:
    return isinstance(link_attributes, dict) and link_attributes.get(attributes.LINK_TYPE) == (
        "dataflow"
    )


if __name__ == "__main__":
    sys.exit(main())
