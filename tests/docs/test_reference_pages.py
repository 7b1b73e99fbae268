"""docs/attributes.md and docs/configuration.md list exactly what the code defines."""

from __future__ import annotations

import argparse
import inspect
import re
from pathlib import Path

import spanflow
from spanflow import attributes, environment
from spanflow.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

# Standard OpenTelemetry variables the pages mention only to say what they do to the SDK or to
# other tools; spanflow itself never reads them.
_OTEL_NAMED_NOT_READ = {
    "OTEL_LOGS_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_LINK_COUNT_LIMIT",
}


def attribute_values() -> set[str]:
    """Every string constant of ``spanflow.attributes``, module level and in its value classes."""
    values = {v for k, v in vars(attributes).items() if k.isupper() and isinstance(v, str)}
    for holder in vars(attributes).values():
        if isinstance(holder, type) and holder.__module__ == attributes.__name__:
            values |= {v for k, v in vars(holder).items() if k.isupper() and isinstance(v, str)}
    return values


# Names in backticks on docs/attributes.md that are Python objects, not attribute keys.
_PYTHON_NAMES = {"spanflow.attributes", "spanflow.link_dataflow"}


def documented_attribute_names() -> set[str]:
    """Every backticked name on docs/attributes.md, shorthands expanded.

    In ``gen_ai.request.temperature``, ``.top_p`` the second stands for
    ``gen_ai.request.top_p``; ``spanflow.param.<key>`` stands for the prefix ``spanflow.param.``.
    """
    names: set[str] = set()
    for line in (DOCS / "attributes.md").read_text(encoding="utf-8").splitlines():
        previous = ""
        for name in re.findall(r"`([^`]+)`", line):
            if name.startswith(".") and previous:
                name = previous.rsplit(".", 1)[0] + name
            previous = name
            names.add(re.sub(r"<\w+>$", "", name))
    return names


def test_every_attribute_constant_is_documented() -> None:
    """Each key and value spanflow.attributes defines is named on docs/attributes.md."""
    missing = attribute_values() - documented_attribute_names()
    assert not missing, f"not documented in docs/attributes.md: {sorted(missing)}"


def test_attributes_page_documents_nothing_the_code_lacks() -> None:
    """Each attribute key docs/attributes.md names is one spanflow.attributes defines."""
    keys = {
        name
        for name in documented_attribute_names() - _PYTHON_NAMES
        if re.fullmatch(r"(spanflow|gen_ai|server|error)\.[a-z0-9_.]*", name)
    }
    extra = keys - attribute_values()
    assert not extra, f"docs/attributes.md names keys spanflow.attributes lacks: {sorted(extra)}"


def environment_names() -> set[str]:
    """Every variable name ``spanflow.environment`` defines."""
    return {v for k, v in vars(environment).items() if k.isupper() and isinstance(v, str)}


def test_every_environment_variable_is_in_the_configuration_table() -> None:
    """Each variable of spanflow.environment is a row of configuration.md's variable table."""
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    table = page.split("## Every environment variable", 1)[1]
    rows = {
        name
        for line in table.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split(" | ")[0])
    }
    missing = environment_names() - rows
    assert not missing, f"not in configuration.md's variable table: {sorted(missing)}"


def test_pages_name_only_variables_spanflow_defines() -> None:
    """A SPANFLOW_* or OTEL_* name in the README or any page is one spanflow.environment defines.

    A family written with a wildcard (``OTEL_EXPORTER_OTLP_*``) is not a name.
    """
    pages = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted(DOCS.glob("*.md"))]
    known = environment_names() | _OTEL_NAMED_NOT_READ
    unknown = {
        f"{page.relative_to(ROOT)}: {name}"
        for page in pages
        for name in re.findall(
            r"\b(?:SPANFLOW|OTEL)_[A-Z0-9_]*[A-Z0-9]\b(?!_\*)", page.read_text("utf-8")
        )
        if name not in known
    }
    assert not unknown, f"variables spanflow.environment does not define: {sorted(unknown)}"


def test_configuration_page_lists_exactly_the_arguments_of_configure() -> None:
    """The configure() table of configuration.md has one row per parameter, and no other."""
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    table = page.split("## `configure()` arguments", 1)[1].split("\n## ", 1)[0]
    rows = {
        match.group(1) for line in table.splitlines() if (match := re.match(r"\| `(\w+)` \|", line))
    }
    assert rows == set(inspect.signature(spanflow.configure).parameters)


def test_collector_page_lists_exactly_the_options_of_spanflow_collector() -> None:
    """The option table of collector.md has one row per `spanflow collector` option, no other."""
    subcommands = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    collector = subcommands.choices["collector"]
    options = {
        flag
        for action in collector._actions
        for flag in action.option_strings
        if flag.startswith("--") and flag != "--help"
    }
    page = (DOCS / "collector.md").read_text(encoding="utf-8")
    table = page.split("| option | default | meaning |", 1)[1].split("\n\n", 1)[0]
    rows = {
        match.group(1)
        for line in table.splitlines()
        if (match := re.match(r"\| `(--[\w-]+)", line))
    }
    assert rows == options
