"""`spanflow runs` over a collector URL and over the embedded index: tables, JSON, rm."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spanflow.cli import main
from spanflow.query.store import RunIndexStore
from tests.api.fixtures import Seeded
from tests.api.support import LlmCall, RunSpec, write_runs

pytest.importorskip("spanflow_collector.index", reason="needs the run index stores")


@pytest.fixture(params=["url", "db"])
def source(request: pytest.FixtureRequest, index_location: str, store: RunIndexStore) -> list[str]:
    """The CLI options that point at the test's index: a collector URL or the index file."""
    if request.param == "url":
        return ["--url", request.getfixturevalue("api_url")]
    return ["--db", index_location]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of one `spanflow` invocation."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_prints_an_aligned_table(
    capsys: pytest.CaptureFixture[str], source: list[str], seeded: Seeded
) -> None:
    """`runs list` shows one aligned row per run with status, start, duration, calls, tokens."""
    code, out, _ = run_cli(capsys, "runs", "list", *source)
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == [
        "ID",
        "NAME",
        "PROJECT",
        "STATUS",
        "STARTED",
        "DURATION",
        "CALLS",
        "TOKENS",
    ]
    assert [row.split()[1] for row in rows] == [
        "chat-demo",
        "eval-beta",
        "alpha-sample-2",
        "alpha-sample-1",
        "eval-alpha",
        "legacy-import",
    ]
    alpha = next(row for row in rows if " eval-alpha " in row)
    assert alpha.split()[0] == seeded.id("eval-alpha")
    fields = alpha.split()
    assert fields[3] == "completed" and fields[5] == "ago"  # started about an hour ago
    assert fields[6:] == ["2.0s", "2", "175"]
    assert "failed" in next(row for row in rows if "eval-beta" in row)
    assert next(row for row in rows if "chat-demo" in row).split()[3] == "running"
    assert "legacy-import" in rows[-1] and "3d ago" in rows[-1]
    for column in ("STATUS", "STARTED", "TOKENS"):
        offset = header.index(column)
        assert all(row[offset - 2 : offset] == "  " for row in rows), column


def test_list_filters(
    capsys: pytest.CaptureFixture[str], source: list[str], seeded: Seeded
) -> None:
    """Filter options narrow the table the same way the API filters do."""
    cases = [
        (["--project", "evals", "--status", "completed", "--top-level"], ["eval-alpha"]),
        (["--tag", "nightly", "--tag", "gpu"], ["eval-alpha"]),
        (["--param", "lr>0.005"], ["eval-beta", "legacy-import"]),
        (["--metric", "accuracy>=0.9"], ["eval-alpha"]),
        (
            ["--name", "sample", "--parent", seeded.id("eval-alpha")],
            ["alpha-sample-2", "alpha-sample-1"],
        ),
        (
            ["--since", "2d"],
            ["chat-demo", "eval-beta", "alpha-sample-2", "alpha-sample-1", "eval-alpha"],
        ),
        (["--until", "2d"], ["legacy-import"]),
        (["-s", "failed", "-s", "running"], ["chat-demo", "eval-beta"]),
    ]
    for options, expected in cases:
        code, out, _ = run_cli(capsys, "runs", "list", *source, *options)
        assert code == 0
        assert [row.split()[1] for row in out.splitlines()[1:]] == expected, options
    code, out, _ = run_cli(capsys, "runs", "list", *source, "--project", "nope")
    assert (code, out.strip()) == (0, "no runs match")


def test_list_json_pages_with_cursor(
    capsys: pytest.CaptureFixture[str], source: list[str], seeded: Seeded
) -> None:
    """`--json` prints parseable pages; following --cursor visits every run once."""
    seen: list[str] = []
    cursor: list[str] = []
    while True:
        code, out, _ = run_cli(capsys, "runs", "list", *source, "--json", "--limit", "4", *cursor)
        assert code == 0
        page = json.loads(out)
        seen += [run["name"] for run in page["runs"]]
        if page["next_cursor"] is None:
            break
        cursor = ["--cursor", page["next_cursor"]]
    assert len(seen) == len(set(seen)) == 6
    code, out, err = run_cli(capsys, "runs", "list", *source, "--limit", "4")
    assert len(out.splitlines()) == 5 and "--cursor" in err
    code, out, _ = run_cli(capsys, "runs", "list", *source, "--limit", "4", "--all", "--json")
    assert [run["name"] for run in json.loads(out)["runs"]] == seen


def test_show_prints_facts_params_metrics_and_subruns(
    capsys: pytest.CaptureFixture[str], source: list[str], seeded: Seeded
) -> None:
    """`runs show` prints the run's facts, params, metrics with point counts, and subruns."""
    alpha = seeded.id("eval-alpha")
    code, out, _ = run_cli(capsys, "runs", "show", *source, alpha)
    assert code == 0
    lines = [line.split() for line in out.splitlines()]
    assert ["id", alpha] in lines
    assert ["status", "completed"] in lines
    assert ["tags", "nightly,", "gpu"] in lines
    assert ["lr", "0.001"] in lines and ["model", "gpt-4o"] in lines
    assert ["accuracy", "0.95", "2", "points"] in lines
    assert ["llm", "calls", "2", "tokens", "150", "in", "/", "25", "out"] in lines
    assert "subruns (2)" in out and seeded.id("alpha-sample-1") in out
    code, out, _ = run_cli(capsys, "runs", "show", *source, seeded.id("eval-beta"))
    assert ["error", "ValueError:", "bad", "sample"] in [line.split() for line in out.splitlines()]
    code, out, _ = run_cli(capsys, "runs", "show", *source, alpha, "--json")
    detail = json.loads(out)
    assert detail["run"]["id"] == alpha and len(detail["metric_history"]) == 2


def test_tree_and_graph(
    capsys: pytest.CaptureFixture[str], source: list[str], store: RunIndexStore
) -> None:
    """`runs tree` draws the span tree; `runs graph` prints Mermaid, DOT or JSON (`--json` too)."""
    first = LlmCall(output_text="draft", input_tokens=7, output_tokens=3)
    (spec,) = write_runs(
        store, RunSpec("chain", offset_s=5, calls=[first, LlmCall(consumes=first.span_id)])
    )
    code, out, _ = run_cli(capsys, "runs", "tree", *source, spec.run_id)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("chain  2.0s")
    assert lines[1].startswith("├─ chat gpt-4o-mini  5ms  7→3 tok")
    assert lines[2].startswith("└─ chat gpt-4o-mini")
    code, out, _ = run_cli(capsys, "runs", "tree", *source, spec.run_id, "--json")
    assert json.loads(out)["roots"][0]["span"]["name"] == "chain"
    code, out, _ = run_cli(capsys, "runs", "graph", *source, spec.run_id)
    assert out.startswith("flowchart LR") and "-->" in out
    code, out, _ = run_cli(capsys, "runs", "graph", *source, spec.run_id, "--format", "dot")
    assert out.startswith("digraph dataflow {") and " -> " in out
    code, out, _ = run_cli(capsys, "runs", "graph", *source, spec.run_id, "--format", "json")
    assert json.loads(out)["edges"][0]["producer"] == first.span_id
    code, out, _ = run_cli(capsys, "runs", "graph", *source, spec.run_id, "--json")
    assert code == 0 and json.loads(out)["edges"][0]["producer"] == first.span_id
    code, out, err = run_cli(
        capsys, "runs", "graph", *source, spec.run_id, "--json", "--format", "dot"
    )
    assert code == 2 and out == "" and "--json and --format dot disagree" in err


def test_compare(capsys: pytest.CaptureFixture[str], source: list[str], seeded: Seeded) -> None:
    """`runs compare` shows a row per param/metric/output and marks differences with ≠."""
    ids = [seeded.id("eval-alpha"), seeded.id("eval-beta")]
    code, out, _ = run_cli(capsys, "runs", "compare", *source, *ids)
    assert code == 0
    rows = {" ".join(line.split()[:3]): line for line in out.splitlines()}
    assert rows["≠ param lr"].split()[3:] == ["0.001", "0.1"]
    assert rows["param epochs 3"].split()[3:] == ["3"]
    code, out, _ = run_cli(capsys, "runs", "compare", *source, *ids, "--json")
    assert [run["id"] for run in json.loads(out)["runs"]] == ids


def test_delete_deletes_runs(
    capsys: pytest.CaptureFixture[str], source: list[str], seeded: Seeded
) -> None:
    """`runs delete` deletes runs with their subruns and says so; they are gone afterwards."""
    alpha, beta = seeded.id("eval-alpha"), seeded.id("eval-beta")
    code, out, _ = run_cli(capsys, "runs", "delete", *source, alpha, beta)
    assert code == 0
    assert out.splitlines() == [
        f"deleted {alpha} (eval-alpha) and 2 subruns",
        f"deleted {beta} (eval-beta)",
    ]
    code, out, _ = run_cli(capsys, "runs", "list", *source, "--json")
    assert [run["name"] for run in json.loads(out)["runs"]] == ["chat-demo", "legacy-import"]


def test_rm_is_kept_as_an_alias_of_delete(
    capsys: pytest.CaptureFixture[str], source: list[str], seeded: Seeded
) -> None:
    """`runs rm`, the former name, still deletes, as `ls` still lists."""
    beta = seeded.id("eval-beta")
    code, out, _ = run_cli(capsys, "runs", "rm", *source, beta)
    assert (code, out.splitlines()) == (0, [f"deleted {beta} (eval-beta)"])
    code, out, _ = run_cli(capsys, "runs", "ls", *source, "--json")
    assert "eval-beta" not in [run["name"] for run in json.loads(out)["runs"]]


def test_runs_help_lists_each_command_with_its_alias_on_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`spanflow runs --help` shows `delete (rm)` and `list (ls)` with their help on the same
    line, aligned with the other commands."""
    with pytest.raises(SystemExit) as exited:
        run_cli(capsys, "runs", "--help")
    assert exited.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    named = [line for line in lines if line.startswith("    ") and line[4] != " "]
    commands = {line.strip().split("  ")[0]: line for line in named}
    assert "delete runs with their spans and subruns" in commands["delete (rm)"]
    assert "list runs, newest first" in commands["list (ls)"]
    columns = {line.index(line.split("  ")[-1].strip()) for line in commands.values()}
    assert len(columns) == 1, lines


def test_errors_exit_nonzero_with_a_message(
    capsys: pytest.CaptureFixture[str], source: list[str], seeded: Seeded
) -> None:
    """Unknown runs exit 1, bad filters exit 2 naming the option; nothing is deleted."""
    code, out, err = run_cli(capsys, "runs", "show", *source, "01JNOSUCHRUN")
    assert (code, out) == (1, "")
    assert err.strip() == "spanflow runs: no run with id '01JNOSUCHRUN'"
    code, _, err = run_cli(
        capsys, "runs", "delete", *source, seeded.id("eval-beta"), "01JNOSUCHRUN"
    )
    assert code == 1 and "01JNOSUCHRUN" in err
    code, out, _ = run_cli(capsys, "runs", "list", *source, "--status", "failed")
    assert "eval-beta" in out
    code, _, err = run_cli(capsys, "runs", "list", *source, "--status", "done")
    assert code == 2 and err.startswith("spanflow runs: --status: unknown status 'done'")
    code, _, err = run_cli(capsys, "runs", "list", *source, "--param", "lr")
    assert code == 2 and err.startswith("spanflow runs: --param: ")
    code, _, err = run_cli(capsys, "runs", "list", *source, "--since", "whenever")
    assert code == 2 and err.startswith("spanflow runs: --since: ")


def test_missing_index_says_where_it_looked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Without any recorded runs the CLI says which index it tried instead of creating one."""
    missing = tmp_path / "nothing.db"
    code, _, err = run_cli(capsys, "runs", "list", "--db", str(missing))
    assert code == 1 and f"no run index at {missing}" in err
    assert not missing.exists()


def test_the_installed_command_reads_a_collector(api_url: str, seeded: Seeded) -> None:
    """The `spanflow` console entry point lists runs from a collector URL in a subprocess."""
    result = subprocess.run(
        [sys.executable, "-m", "spanflow.cli", "runs", "list", "--url", api_url, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert len(json.loads(result.stdout)["runs"]) == 6
