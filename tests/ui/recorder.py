"""Record runs for the web UI's tests: the real SDK and ``openai`` client against the fake LLM.

Run as a script so that the SDK's global configuration never touches the test process::

    python tests/ui/recorder.py record   # evaluations, hostile, failed and resumed runs, metrics
    python tests/ui/recorder.py hold     # one run left running until a line arrives on stdin

Where the runs go is the SDK's ordinary configuration (``SPANFLOW_DB`` for the embedded index,
or ``SPANFLOW_EXPORTERS``/``OTEL_EXPORTER_OTLP_ENDPOINT`` for a collector).
"""

from __future__ import annotations

import sys
from pathlib import Path

from openai import OpenAI

import spanflow
from spanflow.testing.fake_llm import FakeLLMServer, FakeRequest, Reply, ServerError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from agent import evaluate, fake_model  # examples/agent.py

MODEL = "gpt-4o-mini"
XSS_NAME = "<img src=x onerror=\"window.__xss='name'\">"
XSS_PARAM = "<script>window.__xss='param'</script>"
XSS_TAG = "javascript:window.__xss='tag'"
XSS_OUTPUT = (
    "<img src=x onerror=\"window.__xss='output'\"><a href=\"javascript:window.__xss='link'\">x</a>"
)
LONG_TEXT = "A long answer. " * 400


def hostile_model(request: FakeRequest) -> Reply | str:
    """Answer with markup that must show as text, then with a very long reply."""
    if "long" in request.messages[-1].text:
        return LONG_TEXT
    return XSS_OUTPUT


FAILURE_MESSAGE = "the grader gave up"


def failing_model(request: FakeRequest) -> Reply | str | ServerError:
    """Fail the call that asks to fail; answer the others."""
    if "fail" in request.messages[-1].text:
        return ServerError()
    return "a fine answer"


class GraderError(RuntimeError):
    """What the failing run raises."""


def record_failed_and_resumed() -> None:
    """A run whose second LLM call fails (and so does the run), and a run resumed once."""
    with (
        FakeLLMServer(failing_model) as llm,
        OpenAI(base_url=llm.openai_base_url, api_key="x", max_retries=0) as client,
    ):
        try:
            with spanflow.run("grader", project="errors"):
                client.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": "grade this"}]
                )
                try:
                    client.chat.completions.create(
                        model=MODEL, messages=[{"role": "user", "content": "now fail"}]
                    )
                except Exception as exc:
                    raise GraderError(FAILURE_MESSAGE) from exc
        except GraderError:
            pass
    with spanflow.run("resumable", project="resume") as first:
        spanflow.log_metric("loss", 1.0, step=0)
    with spanflow.run(resume=first.id):
        spanflow.log_metric("loss", 0.5, step=1)


def record() -> None:
    """Two evaluation runs with subruns, a hostile run, and a run with a metric series."""
    with FakeLLMServer(fake_model) as llm, OpenAI(base_url=llm.openai_base_url, api_key="x") as c:
        evaluate(c, model=MODEL, name="eval-baseline")
        evaluate(c, model=MODEL, name="eval-candidate")
    with (
        FakeLLMServer(hostile_model) as llm,
        OpenAI(base_url=llm.openai_base_url, api_key="x") as client,
        spanflow.run(XSS_NAME, project="security", tags=[XSS_TAG], params={"payload": XSS_PARAM}),
    ):
        first = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": XSS_PARAM}]
        )
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": f"{first.choices[0].message.content} long"}],
        )
        spanflow.log_output("answer", XSS_OUTPUT)
    with spanflow.run("training", project="curves", params={"lr": 0.01}):
        for step in range(20):
            spanflow.log_metric("loss", 1.0 / (step + 1), step=step)
    record_failed_and_resumed()


def hold() -> None:
    """Open a run, make one call, say its id, and end it when told to on stdin."""
    with (
        FakeLLMServer(fake_model) as llm,
        OpenAI(base_url=llm.openai_base_url, api_key="x") as client,
        spanflow.run("live-run", project="live") as run,
    ):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
        spanflow.force_flush()
        print(f"RUNNING {run.id}", flush=True)
        sys.stdin.readline()
    spanflow.force_flush()
    print("DONE", flush=True)


def main() -> int:
    spanflow.configure()
    spanflow.instrument()
    {"record": record, "hold": hold}[sys.argv[1]]()
    spanflow.force_flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
