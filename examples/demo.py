"""``make demo``: evaluate the example agent against the bundled fake LLM, then show its runs.

Nothing leaves the machine: the real ``openai`` client talks to spanflow's fake LLM server on
loopback, and the runs go to the local embedded run index (``.spanflow/index.db``, or the path in
``SPANFLOW_DB``). The runs are then shown the way a user would look at them afterwards: with the
``spanflow runs`` command line, reading that index.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

from agent import evaluate, fake_model  # examples/agent.py, next to this file
from openai import OpenAI

import spanflow
from spanflow.environment import SPANFLOW_DB
from spanflow.testing.fake_llm import FakeLLMServer

MODEL = "gpt-4o-mini"


def main() -> int:
    """Run the evaluation into the embedded index, then list and inspect the runs it produced."""
    spanflow.configure(exporters=["embedded"])
    spanflow.instrument()
    with (
        FakeLLMServer(fake_model) as llm,
        OpenAI(base_url=llm.openai_base_url, api_key="fake") as client,
    ):
        evaluation = evaluate(client, model=MODEL, name="demo-eval")
        print(f"Evaluated the example agent: {len(llm.requests)} LLM requests to the fake server")
    spanflow.force_flush()

    first_sample = evaluation.sample_run_ids[0]
    commands = [
        ["runs", "list", "--limit", "4"],
        ["runs", "show", evaluation.run_id],
        ["runs", "tree", first_sample],
        ["runs", "graph", first_sample],
    ]
    failures = sum(_spanflow(arguments) != 0 for arguments in commands)
    print(f"\nOpen these runs in your browser: {_ui_command()}")
    return 1 if failures else 0


def _ui_command() -> str:
    """The one command that serves this index in the web UI."""
    db = os.environ.get(SPANFLOW_DB)
    return f"spanflow ui --open --db {shlex.quote(db)}" if db else "spanflow ui --open"


def _spanflow(arguments: list[str]) -> int:
    """Run one ``spanflow`` command as a user would type it, echoing the command first."""
    executable = shutil.which("spanflow")
    command = [executable] if executable else [sys.executable, "-m", "spanflow.cli"]
    print(f"\n$ spanflow {' '.join(arguments)}", flush=True)
    return subprocess.run([*command, *arguments], check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
