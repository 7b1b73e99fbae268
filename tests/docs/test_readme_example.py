"""The README's Python example runs as written, against the fake LLM server, into a local index."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import spanflow
from spanflow.testing import FakeLLMServer
from tests.environments import child_environment

README = Path(__file__).resolve().parents[2] / "README.md"

# What the README leaves to the reader: some samples and an agent that answers them with the
# real ``openai`` client, which finds the fake server through OPENAI_BASE_URL.
_SAMPLES_AND_AGENT = textwrap.dedent(
    """
    from dataclasses import dataclass

    from openai import OpenAI


    @dataclass
    class Sample:
        question: str
        expected: str


    samples = [Sample("capital of France?", "Paris"), Sample("capital of Peru?", "Lima")]


    def agent(sample):
        reply = OpenAI(max_retries=0).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": sample.question}]
        )
        return reply.choices[0].message.content
    """
)


def readme_python_blocks() -> list[str]:
    """Every ```python block of the README, in order."""
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_readme_example_records_a_run_with_one_subrun_per_sample(tmp_path: Path) -> None:
    """The README's example, given samples and an agent, stores eval-7 with a scored subrun each."""
    (example,) = readme_python_blocks()
    script = tmp_path / "readme_example.py"
    script.write_text(_SAMPLES_AND_AGENT + "\n" + example, encoding="utf-8")
    with FakeLLMServer(["Paris", "Quito"]) as llm:
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=child_environment(**llm.client_env()),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert len(llm.requests) == 2
    with spanflow.Client(tmp_path / ".spanflow" / "index.db") as client:
        (evaluation,) = client.list_runs(name="eval-7").runs
        samples = {run.name: run for run in client.children(evaluation.id)}
    assert evaluation.status == "completed"
    assert evaluation.params == {"model": "gpt-4o-mini"}
    assert set(samples) == {"sample-0", "sample-1"}
    assert samples["sample-0"].metrics == {"correct": 1.0}
    assert samples["sample-1"].metrics == {"correct": 0.0}
    assert [run.llm_call_count for run in samples.values()] == [1, 1]
