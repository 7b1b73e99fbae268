"""Record runs full of hostile strings with the real SDK: ``python hostile_runs.py`` (SPANFLOW_DB).

The tests import the strings from here and run this file in a child process, so the index they
read is one the SDK really wrote: a run named ``x ESC [2J``, steps whose names try to forge tree
lines and Mermaid/DOT statements, tags and params with escape sequences, and plain filler runs
so that listings are longer than a pipe buffer.
"""

from __future__ import annotations

import spanflow

RUN_NAME = "x\x1b[2J"
FORGING_STEP = 'plan"] --> evil["pwn\n└─ forged step'
ESCAPING_STEP = 'act\x1b]0;title\x07 "\\" -> "x'
STEP_OUTPUT = (
    "The plan: fetch the quarterly report\x1b[31m then summarise it\n├─ forged line "
    "\u202eevil\u202c <b>bold</b> | `tick` #quot;"
)
TAG = "t\x1b]0;pwned\x07"
PARAM_KEY = "p\n└─ forged"
PARAM_VALUE = "v\x1b[31m"
FILLER_RUNS = 200


@spanflow.step(name=FORGING_STEP)
def produce() -> str:
    """A step whose output the next step consumes (a dataflow edge)."""
    return STEP_OUTPUT


@spanflow.step(name=ESCAPING_STEP)
def consume(text: str) -> str:
    """A step that reads the first one's output."""
    return text.upper()


def record() -> None:
    """The hostile run, then the filler runs (recorded first, so the hostile run is newest)."""
    for index in range(FILLER_RUNS):
        with spanflow.run(f"filler-{index}", project="filler"):
            pass
    with spanflow.run(RUN_NAME, tags=[TAG], params={PARAM_KEY: PARAM_VALUE}):
        consume(produce())
        spanflow.log_output("answer\r", "line1\nline2\x1b[2K")


if __name__ == "__main__":
    record()
