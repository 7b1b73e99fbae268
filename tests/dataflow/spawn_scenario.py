"""A parent's LLM output used by a spawned child's LLM call (tests/dataflow/test_spawn.py)."""

from __future__ import annotations

import multiprocessing
import sys

from openai import OpenAI

import spanflow
from spanflow.testing import FakeLLMServer

PLAN = (
    "Survey the basalt terraces above the harbor, then catalogue every copper lantern that the "
    "night ferry keeps along its eastern railing."
)


def worker(base_url: str) -> None:
    """The child: its prompt quotes the parent's plan."""
    spanflow.configure()
    spanflow.instrument()
    with OpenAI(base_url=base_url, api_key="test", max_retries=0) as client:
        client.chat.completions.create(
            model="worker-model", messages=[{"role": "user", "content": f"Do this: {PLAN}"}]
        )
    spanflow.force_flush()


def main() -> None:
    spanflow.configure()
    spanflow.instrument()
    with FakeLLMServer([PLAN, "done"]) as llm, spanflow.run("spawn-parent"):
        with OpenAI(base_url=llm.openai_base_url, api_key="test", max_retries=0) as client:
            client.chat.completions.create(
                model="planner-model", messages=[{"role": "user", "content": "Make a plan."}]
            )
        context = multiprocessing.get_context(sys.argv[1])
        child = context.Process(target=worker, args=(llm.openai_base_url,))
        child.start()
        child.join(60)
        assert child.exitcode == 0, child.exitcode


if __name__ == "__main__":
    main()
