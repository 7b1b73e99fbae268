"""``spanflow record`` then ``spanflow replay``: real processes, the fake server stopped."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import spanflow
from spanflow import attributes
from spanflow.testing.fake_llm import FakeLLMServer, Reply, ToolCall
from tests.environments import child_environment
from tests.planted_secrets import PLANTED
from tests.replay.agents import openai_agent

AGENT = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, os.environ["REPO_ROOT"])
    from tests.replay.agents import openai_agent
    print("ANSWERS", openai_agent(os.environ["LLM_URL"], "Weather in Paris?", name="cli-agent"))
    """
)


def _spanflow(*arguments: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spanflow.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )


def test_replay_reruns_the_recorded_command_with_no_server(tmp_path: Path) -> None:
    """The recorded command reruns as a linked run, every call served, and prints the tally."""
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    db = tmp_path / "index.db"
    turns = [
        Reply(tool_calls=[ToolCall("weather", {"city": "Paris"})]),
        Reply(text="It is sunny."),
        Reply(text="Sunny."),
    ]
    repo_root = str(Path(__file__).resolve().parents[2])
    with FakeLLMServer(turns) as llm:
        env = child_environment(
            SPANFLOW_DB=str(db), REPO_ROOT=repo_root, LLM_URL=llm.openai_base_url
        )
        recorded = _spanflow("record", str(script), env=env, cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stderr
    with spanflow.Client(db) as client:
        original = next(run for run in client.list_runs().runs if run.parent_id is None)

    replayed = _spanflow("replay", original.id, "--miss", "error", env=env, cwd=tmp_path)

    assert replayed.returncode == 0, replayed.stderr
    answers = [line for line in recorded.stdout.splitlines() if line.startswith("ANSWERS")]
    assert answers and answers[0] in replayed.stdout
    assert f"replay of {original.id}: 3 served, 0 edited, 0 live" in replayed.stdout
    with spanflow.Client(db) as client:
        replay_runs = [
            run
            for run in client.list_runs().runs
            if run.attributes.get(attributes.REPLAY_OF_RUN_ATTRIBUTE) == original.id
        ]
    assert len(replay_runs) == 1

    # The overridden model reaches the program's requests, which no recording then matches.
    overridden = _spanflow(
        "replay",
        original.id,
        "--param",
        "model=other-model",
        "--miss",
        "error",
        env=env,
        cwd=tmp_path,
    )
    assert overridden.returncode != 0
    assert "ReplayMiss" in overridden.stderr and "never recorded" in overridden.stderr


def test_replay_of_an_unknown_call_edit_says_why(tmp_path: Path) -> None:
    """An --edit naming no call of the run fails with one line before anything runs."""
    db = tmp_path / "index.db"
    spanflow.configure(exporters=["embedded"], db_path=db)
    spanflow.instrument()
    try:
        with FakeLLMServer([Reply(text="hi")]) as llm:
            from openai import OpenAI

            with (
                spanflow.run("one-call") as run,
                OpenAI(base_url=llm.openai_base_url, api_key="k", max_retries=0) as client,
            ):
                client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "x"}]
                )
        spanflow.force_flush()
    finally:
        spanflow.uninstrument()
        spanflow.configure(exporters=["none"])

    done = _spanflow(
        "replay", run.id, "--db", str(db), "--edit", "7=text", env=child_environment(), cwd=tmp_path
    )

    assert done.returncode == 1
    assert "call 7: run" in done.stderr and "has 1 LLM call(s)" in done.stderr


def test_compare_and_graph_show_what_an_edited_replay_changed(index: Path, tmp_path: Path) -> None:
    """`runs compare` lists changed call outputs; `runs graph` marks edited and changed calls."""
    turns = [
        Reply(tool_calls=[ToolCall("weather", {"city": "Rome"})]),
        Reply(text="Sunny in Rome."),
        Reply(text="Sunny."),
    ]
    with FakeLLMServer(turns) as llm:
        openai_agent(llm.openai_base_url, "Weather in Rome?", name="base")
    spanflow.force_flush()
    with spanflow.Client(index) as client:
        original = next(run for run in client.list_runs().runs if run.name == "base")
    with (
        FakeLLMServer([Reply(text="Rainy, in short.")]) as llm,
        spanflow.replay(original.id, edits={2: "Rain in Rome."}),
    ):
        openai_agent(llm.openai_base_url, "Weather in Rome?", name="what-if")
    spanflow.force_flush()
    with spanflow.Client(index) as client:
        replayed = next(run for run in client.list_runs().runs if run.name == "what-if")

    env = child_environment()
    compared = _spanflow(
        "runs", "compare", original.id, replayed.id, "--db", str(index), env=env, cwd=tmp_path
    )
    graph = _spanflow("runs", "graph", replayed.id, "--db", str(index), env=env, cwd=tmp_path)

    assert compared.returncode == 0, compared.stderr
    assert "2 of 3 call output(s) changed" in compared.stdout
    assert "edited" in compared.stdout and "live" in compared.stdout
    assert graph.returncode == 0, graph.stderr
    assert "classDef edited" in graph.stdout and "classDef changed" in graph.stdout
    assert graph.stdout.count("class n") == 2


FAMILY = textwrap.dedent(
    """
    import multiprocessing, os, subprocess, sys
    sys.path.insert(0, os.environ["REPO_ROOT"])
    import spanflow
    from openai import OpenAI

    spanflow.instrument()  # the spawned child is not started by `spanflow record`


    def ask(question):
        with spanflow.run(question), OpenAI(
            base_url=os.environ["LLM_URL"], api_key="k", max_retries=0
        ) as client:
            reply = client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": question}]
            )
            print("ANSWER", reply.choices[0].message.content, flush=True)

    if __name__ == "__main__":
        if sys.argv[1:] == ["child"]:
            ask("from a spawned child")
            sys.exit(0)
        ask("from the program")
        subprocess.run([sys.executable, __file__, "child"], check=True)
        worker = multiprocessing.get_context("fork").Process(target=ask, args=("from a fork",))
        worker.start()
        worker.join()
    """
)


def test_the_tally_counts_the_calls_of_every_process_of_the_program(tmp_path: Path) -> None:
    """Calls made by a spawned child and a forked worker are counted with the program's own."""
    script = tmp_path / "family.py"
    script.write_text(FAMILY)
    repo_root = str(Path(__file__).resolve().parents[2])
    with FakeLLMServer(default=lambda request: Reply(text=f"re: {request.last_user_text}")) as llm:
        env = child_environment(
            SPANFLOW_DB=str(tmp_path / "index.db"), REPO_ROOT=repo_root, LLM_URL=llm.openai_base_url
        )
        recorded = _spanflow("record", str(script), env=env, cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stderr
    assert recorded.stdout.count("ANSWER re: from") == 3
    with spanflow.Client(tmp_path / "index.db") as client:
        original = next(run for run in client.list_runs().runs if run.parent_id is None)

    replayed = _spanflow("replay", original.id, "--miss", "error", env=env, cwd=tmp_path)

    assert replayed.returncode == 0, replayed.stderr
    assert sorted(replayed.stdout.splitlines()[:3]) == sorted(
        line for line in recorded.stdout.splitlines() if line.startswith("ANSWER")
    )
    assert f"replay of {original.id}: 3 served, 0 edited, 0 live" in replayed.stdout


def test_replay_sets_the_recorded_variables_the_caller_does_not_set(tmp_path: Path) -> None:
    """A recorded allow-listed variable reaches the replayed program; the caller's own wins."""
    script = tmp_path / "seed.py"
    script.write_text('import os\nprint("SEED", os.environ.get("PYTHONHASHSEED"))\n')
    env = child_environment(SPANFLOW_DB=str(tmp_path / "index.db"))
    recorded = _spanflow("record", str(script), env={**env, "PYTHONHASHSEED": "7"}, cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stderr
    with spanflow.Client(tmp_path / "index.db") as client:
        original = next(run for run in client.list_runs().runs if run.parent_id is None)

    plain = _spanflow("replay", original.id, env=env, cwd=tmp_path)
    overridden = _spanflow("replay", original.id, env={**env, "PYTHONHASHSEED": "9"}, cwd=tmp_path)

    assert "SEED 7" in recorded.stdout
    assert plain.returncode == 0, plain.stderr
    assert "SEED 7" in plain.stdout
    assert "SEED 9" in overridden.stdout


def test_replay_notes_when_the_code_moved_since_the_recording(tmp_path: Path) -> None:
    """Replaying in a git tree whose HEAD moved since the recording says so on stderr."""
    script = tmp_path / "hello.py"
    script.write_text('print("hello")\n')

    def git(*arguments: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *arguments],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            timeout=30,
        )

    git("init", "-q")
    git("add", "hello.py")
    git("commit", "-q", "-m", "first")
    env = child_environment(SPANFLOW_DB=str(tmp_path / "index.db"))
    assert _spanflow("record", str(script), env=env, cwd=tmp_path).returncode == 0
    with spanflow.Client(tmp_path / "index.db") as client:
        original = next(run for run in client.list_runs().runs if run.parent_id is None)
    same = _spanflow("replay", original.id, env=env, cwd=tmp_path)
    git("commit", "-q", "--allow-empty", "-m", "second")

    moved = _spanflow("replay", original.id, env=env, cwd=tmp_path)

    assert "note:" not in same.stderr
    assert moved.returncode == 0, moved.stderr
    assert "note: recorded at commit" in moved.stderr and "the code may differ" in moved.stderr


def test_replay_names_the_recorded_calls_it_cannot_serve_before_it_starts(tmp_path: Path) -> None:
    """A call whose answer was redacted is named on stderr before the program runs."""
    db = tmp_path / "index.db"
    spanflow.configure(exporters=["embedded"], db_path=db)
    spanflow.instrument()
    try:
        from openai import OpenAI

        answers = [Reply(text="fine"), Reply(text=f"The key is {PLANTED[0].text}.")]
        with (
            FakeLLMServer(answers) as llm,
            spanflow.run("two-calls") as run,
            OpenAI(base_url=llm.openai_base_url, api_key="k", max_retries=0) as client,
        ):
            for prompt in ("a", "b"):
                client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": prompt}]
                )
        spanflow.force_flush()
    finally:
        spanflow.uninstrument()
        spanflow.configure(exporters=["none"])

    done = _spanflow(
        "replay",
        run.id,
        "--db",
        str(db),
        "--",
        sys.executable,
        "-c",
        "pass",
        env=child_environment(),
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stderr
    assert "note: call 2 (openai chat) cannot be answered from its recording" in done.stderr
    assert "redacted" in done.stderr and "call 1" not in done.stderr
