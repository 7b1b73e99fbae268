"""docs/configuration.md documents every setting of the parameter table, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from spanflow._internal.parameters import PARAMETERS

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"

# Variables on the page that are not settings: credentials, what spanflow hands a child process,
# and spanflow's own test suite (the page says so in the same words).
NOT_SETTINGS = {
    "SPANFLOW_COLLECTOR_TOKEN",
    "SPANFLOW_COLLECTOR_INGEST_TOKEN",
    "SPANFLOW_COLLECTOR_READ_TOKEN",
    "TRACEPARENT",
    "SPANFLOW_RUN_CONTEXT",
    "SPANFLOW_REQUIRE_POSTGRES",
    "SPANFLOW_TEST_POSTGRES_URL",
    "SPANFLOW_FUZZ_EXAMPLES",
}
_VARIABLE = r"`((?:SPANFLOW|OTEL|TRACEPARENT)[A-Z0-9_]*)`"


def _section(title: str) -> str:
    return PAGE.read_text(encoding="utf-8").split(title, 1)[1].split("\n## ", 1)[0]


def _argument_rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in _section("## `configure()` arguments").splitlines():
        if match := re.match(r"\| `(\w+)` \|", line):
            rows[match.group(1)] = [cell.strip() for cell in line.strip("|").split(" | ")]
    return rows


def _variable_table() -> set[str]:
    return {
        name
        for line in _section("## Every environment variable").splitlines()
        if line.startswith("| `")
        for name in re.findall(_VARIABLE, line.split(" | ")[0])
    }


def _rendered(default: object) -> str | None:
    """How the page writes a default in the table, for those it can be checked for."""
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, int | float):
        return f"{default:g}" if isinstance(default, float) else str(default)
    if isinstance(default, str | Path):
        return str(default)
    return None


def test_each_argument_row_names_exactly_the_variables_and_default_of_its_parameter() -> None:
    """A configure() row's environment column lists its parameter's variables; its default shows."""
    rows = _argument_rows()
    for parameter in PARAMETERS:
        if not parameter.argument:
            continue
        _, variables_cell, default_cell, _ = rows[parameter.name]
        assert set(re.findall(_VARIABLE, variables_cell)) == set(parameter.variables), parameter
        shown = _rendered(parameter.default)
        if shown is not None:
            assert shown in default_cell, (parameter.name, shown, default_cell)


def test_every_variable_of_a_setting_is_in_the_variable_table() -> None:
    """Environment-only settings too: each of their variables has a row."""
    documented = _variable_table()
    missing = {v for parameter in PARAMETERS for v in parameter.variables} - documented
    assert not missing, f"settings variables missing from the table: {sorted(missing)}"


def test_every_documented_variable_is_a_setting_or_named_as_not_one() -> None:
    """A variable on the page is read through the parameter table, or is knowingly outside it."""
    of_settings = {variable for parameter in PARAMETERS for variable in parameter.variables}
    stray = _variable_table() - of_settings - NOT_SETTINGS
    assert not stray, f"documented variables that are no setting: {sorted(stray)}"
    assert not NOT_SETTINGS & of_settings
