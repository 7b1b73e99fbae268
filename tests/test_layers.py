"""The import layers of docs/architecture.md hold: allowed arrows only, and no import cycle.

The static rules read every import in the source (function-level ones included, see
``tests/import_graph.py``); the runtime checks start a fresh interpreter and look at what an
import really loads.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.environments import child_environment
from tests.import_graph import ImportEdge, import_cycles, import_edges

# The layers, lowest first; docs/architecture.md draws the same table.
LEAVES = ("spanflow.attributes", "spanflow.environment", "spanflow.redaction")
CONTRACT = ("spanflow.query",)
# The only collector modules the SDK runtime may import: the index stores the embedded exporter
# writes to and the client reads.
SEAMS = ("spanflow_collector.index",)
# CLI commands whose job is to start the collector's servers.
COLLECTOR_COMMANDS = ("spanflow.cli.collector", "spanflow.cli.ui")
# Package __init__ modules that import nothing at run time, so any module may pass through them.
EMPTY_PACKAGES = ("spanflow", "spanflow_collector")


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(f"{prefix}.") for prefix in prefixes)


def layer_of(module: str) -> str:
    """The layer ``module`` belongs to: leaf, contract, collector or sdk."""
    if _within(module, LEAVES):
        return "leaf"
    if _within(module, CONTRACT):
        return "contract"
    if _within(module, ("spanflow_collector",)):
        return "collector"
    return "sdk"


def forbidden_reason(edge: ImportEdge) -> str | None:
    """Why ``edge`` breaks the layer rules, or ``None`` when the arrow is allowed."""
    source, target = layer_of(edge.importer), layer_of(edge.imported)
    if edge.imported in EMPTY_PACKAGES:
        return None
    allowed = {
        "leaf": {"leaf"},
        "contract": {"leaf", "contract"},
        "collector": {"leaf", "contract", "collector"},
        "sdk": {"leaf", "contract", "sdk"},
    }[source]
    if target in allowed:
        return None
    if source == "sdk" and target == "collector":
        if _within(edge.imported, SEAMS) or _within(edge.importer, COLLECTOR_COMMANDS):
            return None
        return "the SDK reaches the collector only through its seams"
    return f"a {source} module may not import the {target} layer"


def test_no_import_cycles_counting_function_level_imports() -> None:
    """No group of modules imports each other, even through imports written inside functions."""
    edges = import_edges()
    cycles = import_cycles(edges)
    described = [
        f"{' '.join(cycle)} via "
        + ", ".join(
            f"{edge.importer}:{edge.line}->{edge.imported}"
            for edge in edges
            if edge.importer in cycle and edge.imported in cycle
        )
        for cycle in cycles
    ]
    assert described == []


def test_every_import_follows_the_layer_arrows() -> None:
    """Leaves import only leaves, the query contract only leaves, the collector no SDK runtime."""
    broken = sorted(
        {
            f"{edge.importer}:{edge.line} -> {edge.imported}: {reason}"
            for edge in import_edges()
            if (reason := forbidden_reason(edge)) is not None
        }
    )
    assert broken == []


def test_the_layer_rules_reject_forbidden_arrows() -> None:
    """The rules themselves refuse the arrows the layering forbids and accept the seams."""

    def reason(importer: str, imported: str) -> str | None:
        return forbidden_reason(ImportEdge(importer, imported, 1, in_function=True))

    assert reason("spanflow.query.codec", "spanflow._internal.config") is not None
    assert reason("spanflow_collector.index.sqlite", "spanflow.dataflow.detector") is not None
    assert reason("spanflow._client.http", "spanflow_collector.api.routes") is not None
    assert reason("spanflow.attributes", "spanflow.query.records") is not None
    assert reason("spanflow._internal.embedded_export", "spanflow_collector.index.sqlite") is None
    assert reason("spanflow._internal.exporters", "spanflow_collector.ingest") is not None
    assert reason("spanflow.cli.collector", "spanflow_collector.server") is None
    assert reason("spanflow_collector.api.routes", "spanflow.query.views") is None


def test_the_import_graph_sees_deferred_imports_and_cycles() -> None:
    """Function-level imports are in the graph, and a two-module loop is found as a cycle."""
    deferred = {(edge.importer, edge.imported) for edge in import_edges() if edge.in_function}
    assert ("spanflow._internal.exporters", "spanflow._internal.embedded_export") in deferred
    loop = [ImportEdge("a", "b", 1, in_function=True), ImportEdge("b", "a", 3, in_function=False)]
    assert import_cycles(loop) == [["a", "b"]]


def _modules_loaded_by(statement: str) -> list[str]:
    """Modules a fresh interpreter has after ``statement`` that it did not have before it."""
    script = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        f"{statement}\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_environment(),
        check=True,
    )
    loaded: list[str] = json.loads(finished.stdout)
    return loaded


def test_import_spanflow_loads_no_sdk_machinery() -> None:
    """``import spanflow`` loads the package alone: no OpenTelemetry, no run model, no exporter."""
    loaded = _modules_loaded_by("import spanflow")
    assert [name for name in loaded if name.startswith(("spanflow", "opentelemetry"))] == [
        "spanflow"
    ]


@pytest.mark.parametrize("leaf", ["spanflow.attributes", "spanflow.environment"])
def test_leaf_modules_load_nothing_else_of_spanflow(leaf: str) -> None:
    """The attribute and environment modules are true leaves: importing one loads only itself."""
    loaded = _modules_loaded_by(f"import {leaf}")
    assert [name for name in loaded if name.startswith("spanflow")] == ["spanflow", leaf]


def test_collector_index_loads_no_sdk_runtime() -> None:
    """Opening the collector's index code loads only the leaves and the query contract."""
    loaded = _modules_loaded_by("import spanflow_collector.index")
    sdk_runtime = [
        name
        for name in loaded
        if name.startswith("spanflow.") and layer_of(name) not in ("leaf", "contract")
    ]
    assert sdk_runtime == []
    assert not [name for name in loaded if name.startswith("opentelemetry.sdk")]


def test_query_contract_needs_only_the_standard_library() -> None:
    """The whole query contract imports with nothing but the standard library and the leaves."""
    statement = (
        "import pkgutil, importlib, spanflow.query\n"
        "for info in pkgutil.walk_packages(spanflow.query.__path__, 'spanflow.query.'):\n"
        "    importlib.import_module(info.name)"
    )
    loaded = _modules_loaded_by(statement)
    outside = [
        name
        for name in loaded
        if name.partition(".")[0] not in sys.stdlib_module_names
        and layer_of(name) not in ("leaf", "contract")
        and name != "spanflow"
    ]
    assert outside == []
