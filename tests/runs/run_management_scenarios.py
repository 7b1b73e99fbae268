"""User scripts for tests/runs/test_run_management.py, run as real processes with a mode."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import spanflow
from spanflow.client import RunNotFoundError


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


def open_with_id() -> None:
    """`run(id=..., if_exists=...)` or `run(resume=...)`; prints what opened, or the error."""
    how, run_id, choice = sys.argv[2], sys.argv[3], sys.argv[4]
    options: dict[str, Any] = {"resume": run_id} if how == "resume" else {"id": run_id}
    if choice != "-":
        options["if_exists"] = choice
    first_time = how == "first"
    try:
        with spanflow.run(
            "nightly" if first_time else None,
            project="evals" if first_time else None,
            tags=["gpu"] if first_time else ["rerun"],
            **options,
        ) as handle:
            print(
                json.dumps(
                    {
                        "id": handle.id,
                        "segment": handle.segment,
                        "name": handle.name,
                        "project": handle.project,
                        "tags": list(handle.tags),
                    }
                )
            )
    except (spanflow.RunExistsError, RunNotFoundError) as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))


def with_attributes() -> None:
    """Two runs with free attributes, an input and an artifact each (argv: a folder)."""
    for dataset in ("gsm8k", "math"):
        with spanflow.run(f"on-{dataset}", project="evals", dataset=dataset, shots=3):
            spanflow.log_input("question", f"first {dataset} question")
            report = Path(sys.argv[2]) / dataset / "report.txt"
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(f"{dataset} results\n")
            spanflow.log_artifact(report)


if __name__ == "__main__":
    {
        "unfinished": unfinished,
        "evaluation": evaluation,
        "open": open_with_id,
        "attrs": with_attributes,
    }[sys.argv[1]]()
