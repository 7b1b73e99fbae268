"""User scripts for tests/runs/test_run_management.py, run as real processes with a mode."""

from __future__ import annotations

import sys

import spanflow


def unfinished() -> None:
    """An imperative run the script never finishes."""
    handle = spanflow.start_run("never-finished", project="evals")
    handle.log_metrics(loss=0.5)
    print(handle.id, flush=True)


def evaluation() -> None:
    """An evaluation: a parent run with one subrun per sample (argv: name model offset)."""
    name, model, shift = sys.argv[2], sys.argv[3], float(sys.argv[4])
    with spanflow.run(name, project="evals", params={"model": model}) as parent:
        correct = 0
        for index in range(8):
            with spanflow.run(f"sample-{index}", params={"row": index}):
                score = min(1.0, 0.1 * index + shift)
                spanflow.log_metrics(score=score, correct=float(score >= 0.5))
                correct += score >= 0.5
        spanflow.log_metrics(accuracy=correct / 8)
    print(parent.id, flush=True)


if __name__ == "__main__":
    {"unfinished": unfinished, "evaluation": evaluation}[sys.argv[1]]()
