"""Record runs for the web UI's tests: the real SDK and ``openai`` client against the fake LLM.

Run as a script so that the SDK's global configuration never touches the test process::

    python tests/ui/recorder.py record   # evaluations, hostile, failed and resumed runs, metrics
    python tests/ui/recorder.py hold     # one run left running; "call" on stdin adds a call,
                                         # any other line ends it

Where the runs go is the SDK's ordinary configuration (``SPANFLOW_DB`` for the embedded index,
or ``SPANFLOW_EXPORTERS``/``OTEL_EXPORTER_OTLP_ENDPOINT`` for a collector).
"""

from __future__ import annotations

import sys
from pathlib import Path

from openai import OpenAI
from opentelemetry import trace

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


PIPELINE = "pipeline"
RESEARCH_FACTS = "Paris has 2.1 million inhabitants and the Seine runs through it."
HOSTILE_GROUP = "<img src=x onerror=\"window.__xss='group'\">\x1b[31m\u202eev\u200bil"
LONG_GROUP = "subrun-" + "very-long-name-" * 200
REPLAY_ORIGINAL = "replay-original"
REPLAY_EDITED = "replay-edited"
EDITED_ANSWER = "Lyon is the capital of France."


def pipeline_model(request: FakeRequest) -> Reply | str:
    """Research facts, draft from them, and judge the draft (an echo, so inputs show)."""
    text = request.messages[-1].text
    if text.startswith("research"):
        return RESEARCH_FACTS
    return f"Draft built on: {text[:120]}"


def record_pipeline() -> None:
    """A run with two subruns, each with LLM calls, an edge between them, and the parent
    reading the second subrun's output; and a run whose subruns carry hostile names."""
    with (
        FakeLLMServer(pipeline_model) as llm,
        OpenAI(base_url=llm.openai_base_url, api_key="x") as client,
        spanflow.run(PIPELINE, project="pipelines"),
    ):

        @spanflow.step(name="research")
        def research(topic: str) -> tuple[str, trace.SpanContext]:
            """Ask for facts; return them with this step's span, for an edge from a sibling."""
            reply = client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": f"research {topic}"}]
            )
            facts = reply.choices[0].message.content or ""
            return facts, trace.get_current_span().get_span_context()

        @spanflow.step(name="draft")
        def draft(facts: str, producer: trace.SpanContext) -> str:
            """Write from facts found in a sibling subrun: detection does not look across
            siblings, so the edge is stated (spanflow.link_dataflow)."""
            spanflow.link_dataflow(producer=producer, input_field="facts")
            reply = client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": f"write about: {facts}"}]
            )
            return reply.choices[0].message.content or ""

        with spanflow.run("research"):
            facts, producer = research("Paris")
            client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": f"check: {facts}"}]
            )
        with spanflow.run("write"):
            written = draft(facts, producer)
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"judge: {written}"}]
        )
    with (
        FakeLLMServer(hostile_model) as llm,
        OpenAI(base_url=llm.openai_base_url, api_key="x") as client,
        spanflow.run("hostile-groups", project="security"),
    ):
        for name in (HOSTILE_GROUP, LONG_GROUP):
            with spanflow.run(name):
                client.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": "say something"}]
                )


def chain_model(request: FakeRequest) -> Reply | str:
    """Plan, answer, summarise (an echo of its input) and grade (always PASS)."""
    text = request.messages[-1].text
    if text.startswith("plan"):
        return "Look up the capital of France."
    if text.startswith("answer:"):
        return "Paris is the capital of France."
    if text.startswith("summarise:"):
        return f"Summary: {text.removeprefix('summarise:').strip()}"
    return "PASS"


def chain(base_url: str, name: str) -> None:
    """Four calls, each reading the previous one's output."""
    with OpenAI(base_url=base_url, api_key="x", max_retries=0) as client, spanflow.run(name):
        previous = ""
        for prompt in ("plan the answer", "answer:", "summarise:", "grade:"):
            reply = client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": f"{prompt} {previous}"}]
            )
            previous = reply.choices[0].message.content or ""


def record_replay() -> None:
    """A four-call chain, and its replay with call 2 edited: call 1 is served, call 2 edited,
    call 3 goes live with a changed output, call 4 goes live with the same output."""
    with FakeLLMServer(chain_model) as llm:
        chain(llm.openai_base_url, REPLAY_ORIGINAL)
        spanflow.force_flush()
        with spanflow.Client() as client:
            original = next(r for r in client.list_runs().runs if r.name == REPLAY_ORIGINAL)
        with spanflow.replay(original.id, edits={2: EDITED_ANSWER}, miss="live"):
            chain(llm.openai_base_url, REPLAY_EDITED)


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
    record_pipeline()
    record_replay()
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
        calls = 1
        while sys.stdin.readline().strip() == "call":
            calls += 1
            client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": f"call {calls}"}]
            )
            spanflow.force_flush()
            print(f"CALLED {calls}", flush=True)
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
