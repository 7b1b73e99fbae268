"""The real `spanflow` command against an index the SDK wrote with hostile strings in it.

Each test starts the installed ``spanflow`` script as a process, the way a user's shell does, so
exit codes, stderr and pipes are the real ones.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli import hostile_runs
from tests.cli.cli_process import TIMEOUT_S, Result, spanflow_cli, spanflow_command
from tests.cli.graph_syntax import parse_dot, parse_mermaid
from tests.cli.hostile_text import unsafe_characters
from tests.environments import child_environment


@dataclass(frozen=True)
class RecordedIndex:
    """The index the SDK wrote, and the id of its hostile run."""

    path: Path
    run_id: str

    def options(self) -> list[str]:
        """``--db PATH``."""
        return ["--db", str(self.path)]

    def runs(self, *args: str, cwd: Path) -> Result:
        """``spanflow runs ARGS --db PATH``."""
        return spanflow_cli("runs", *args, *self.options(), cwd=cwd)

    def another_run_id(self, cwd: Path) -> str:
        """The id of the newest filler run."""
        listed = self.runs("list", "--json", "--limit", "2", cwd=cwd)
        run_id: str = json.loads(listed.out)["runs"][1]["id"]
        return run_id


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> RecordedIndex:
    """The hostile run and the filler runs, recorded by the real SDK in a child process."""
    folder = tmp_path_factory.mktemp("hostile")
    path = folder / "index.db"
    subprocess.run(
        [sys.executable, hostile_runs.__file__],
        cwd=folder,
        env=child_environment(SPANFLOW_DB=str(path)),
        check=True,
        timeout=TIMEOUT_S * 2,
    )
    listed = spanflow_cli("runs", "list", "--db", str(path), "--json", cwd=folder)
    newest = json.loads(listed.out)["runs"][0]
    assert newest["name"] == hostile_runs.RUN_NAME
    return RecordedIndex(path, newest["id"])


def test_a_run_named_with_an_unterminated_escape_is_listed_escaped(
    recorded: RecordedIndex, tmp_path: Path
) -> None:
    """`runs list` shows the run named "x ESC [2J" as visible text instead of hanging."""
    result = recorded.runs("list", cwd=tmp_path)
    assert result.code == 0, result.err
    assert unsafe_characters(result.out) == []
    row = next(line for line in result.out.splitlines() if line.startswith(recorded.run_id))
    assert row.split()[1] == "x\\x1b[2J"


def test_json_output_keeps_the_exact_strings(recorded: RecordedIndex, tmp_path: Path) -> None:
    """`--json` is data, not display: it carries the recorded strings exactly."""
    result = recorded.runs("show", recorded.run_id, "--json", cwd=tmp_path)
    run = json.loads(result.out)["run"]
    assert run["name"] == hostile_runs.RUN_NAME
    assert run["tags"] == [hostile_runs.TAG]
    assert run["params"] == {hostile_runs.PARAM_KEY: hostile_runs.PARAM_VALUE}


def test_run_detail_prints_escape_sequences_as_text(
    recorded: RecordedIndex, tmp_path: Path
) -> None:
    """`runs show` prints tags, params and outputs with their control characters escaped."""
    result = recorded.runs("show", recorded.run_id, cwd=tmp_path)
    assert result.code == 0, result.err
    assert unsafe_characters(result.out) == []
    assert "tags       t\\x1b]0;pwned\\x07" in result.out.splitlines()
    assert "  p\\n└─ forged  v\\x1b[31m" in result.out.splitlines()
    assert "  answer\\r  line1 line2\\x1b[2K" in result.out.splitlines()


def test_span_names_cannot_forge_tree_lines(recorded: RecordedIndex, tmp_path: Path) -> None:
    """`runs tree` draws one line per span; a newline in a span name stays inside its line."""
    result = recorded.runs("tree", recorded.run_id, cwd=tmp_path)
    assert result.code == 0, result.err
    assert unsafe_characters(result.out) == []
    root, *children = result.out.rstrip("\n").split("\n")
    assert root.startswith("x\\x1b[2J  ")
    assert len(children) == 2
    assert children[0].startswith('├─ plan"] --> evil["pwn\\n└─ forged step  ')
    assert children[1].startswith('└─ act\\x1b]0;title\\x07 "\\" -> "x  ')


@pytest.mark.parametrize("graph_format", ["mermaid", "dot"])
def test_graph_labels_stay_inside_their_nodes(
    recorded: RecordedIndex, tmp_path: Path, graph_format: str
) -> None:
    """`runs graph` Mermaid and DOT parse as exactly the two steps and the edge between them."""
    result = recorded.runs("graph", recorded.run_id, "--format", graph_format, cwd=tmp_path)
    assert result.code == 0, result.err
    assert unsafe_characters(result.out) == []
    parsed = (parse_mermaid if graph_format == "mermaid" else parse_dot)(result.out)
    labels = sorted(label[0] for label in parsed.nodes.values())
    assert labels == ['act\\x1b]0;title\\x07 "\\" -> "x', 'plan"] --> evil["pwn\\n└─ forged step']
    assert len(parsed.edges) == 1


def test_a_reader_closing_the_pipe_early_ends_the_command_quietly(
    recorded: RecordedIndex, tmp_path: Path
) -> None:
    """`spanflow runs list --all --json | head -1`: no traceback when head stops reading."""
    process = subprocess.Popen(
        [*spanflow_command(), "runs", "list", "--all", "--json", *recorded.options()],
        cwd=tmp_path,
        env=child_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline() == b"{\n"
    process.stdout.close()  # the output (> 100 KB) is far from written: the next write fails
    try:
        stderr = process.stderr.read()
        code = process.wait(timeout=TIMEOUT_S)
    finally:
        process.kill()
        process.stderr.close()
    assert stderr == b""
    assert code == 1


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_read_only_commands_leave_the_index_unchanged(
    recorded: RecordedIndex, tmp_path: Path
) -> None:
    """list, show, tree, graph and compare never write to the index file."""
    before = _digest(recorded.path)
    other = recorded.another_run_id(tmp_path)
    for command in (
        ["list", "--all"],
        ["show", recorded.run_id],
        ["tree", recorded.run_id],
        ["graph", recorded.run_id],
        ["compare", recorded.run_id, other],
    ):
        result = recorded.runs(*command, cwd=tmp_path)
        assert result.code == 0, (command, result.err)
    assert _digest(recorded.path) == before


def test_compare_escapes_run_names_and_values(recorded: RecordedIndex, tmp_path: Path) -> None:
    """`runs compare` shows hostile names, keys and values inert, one row each."""
    other = recorded.another_run_id(tmp_path)
    result = recorded.runs("compare", recorded.run_id, other, cwd=tmp_path)
    assert result.code == 0, result.err
    assert unsafe_characters(result.out) == []
    assert (
        len(result.out.rstrip("\n").split("\n")) == 1 + 2 + 2
    )  # header, id, status, param, output
