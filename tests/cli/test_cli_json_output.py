"""`spanflow runs ... --json` printed to a terminal: exact data, no characters it interprets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.cli.cli_process import TIMEOUT_S, spanflow_cli
from tests.cli.hostile_text import unsafe_characters
from tests.environments import child_environment

# C1 CSI (a one-byte ESC [ on terminals that honour C1), DEL, a bidi override and a line
# separator: JSON does not escape any of them by itself.
NAME = "c1\x9b2Jdel\x7frlo\u202esep\u2028end"
RECORD = f"""
import spanflow
with spanflow.run({NAME!r}, tags=[{NAME!r}], params={{{NAME!r}: {NAME!r}}}):
    pass
"""


def test_json_output_escapes_c1_controls_and_bidi_overrides(tmp_path: Path) -> None:
    """`runs list --json` and `runs show --json` escape C1 controls, DEL, bidi overrides and
    line separators as \\u escapes, and parse back to the exact recorded strings."""
    index = tmp_path / "index.db"
    subprocess.run(
        [sys.executable, "-c", RECORD],
        cwd=tmp_path,
        env=child_environment(SPANFLOW_DB=str(index)),
        check=True,
        timeout=TIMEOUT_S,
    )
    listed = spanflow_cli("runs", "list", "--db", str(index), "--json", cwd=tmp_path)
    assert listed.code == 0, listed.err
    assert unsafe_characters(listed.out) == []
    run = json.loads(listed.out)["runs"][0]
    assert run["name"] == NAME
    shown = spanflow_cli("runs", "show", run["id"], "--db", str(index), "--json", cwd=tmp_path)
    assert shown.code == 0, shown.err
    assert unsafe_characters(shown.out) == []
    detail = json.loads(shown.out)["run"]
    assert (detail["tags"], detail["params"]) == ([NAME], {NAME: NAME})
