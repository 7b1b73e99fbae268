"""The module import graph of spanflow and spanflow_collector, read from source with ``ast``.

Every ``import`` counts wherever it is written (module level or inside a function), because a
function-level import still ties the two modules together: it only moves the cycle from import
time to call time. Imports under ``if TYPE_CHECKING:`` are left out (they never run), and so are
imports of modules outside the two packages. Importing ``a.b.c`` also counts as importing the
packages ``a`` and ``a.b``, whose ``__init__`` runs first. ``python tests/import_graph.py``
prints the cycles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE_ROOTS = (REPO_ROOT / "src", REPO_ROOT / "collector")
PACKAGES = ("spanflow", "spanflow_collector")


@dataclass(frozen=True)
class ImportEdge:
    """``importer`` imports ``imported`` at ``line``; ``in_function``: the import is deferred."""

    importer: str
    imported: str
    line: int
    in_function: bool


def module_files() -> dict[str, Path]:
    """Each module name of the two packages mapped to its source file."""
    modules: dict[str, Path] = {}
    for root in SOURCE_ROOTS:
        for package in PACKAGES:
            for path in sorted((root / package).rglob("*.py")):
                parts = list(path.relative_to(root).with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                modules[".".join(parts)] = path
    return modules


def _is_type_checking_guard(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(
    body: list[ast.stmt], in_function: bool
) -> Iterator[tuple[ast.stmt | ast.Call, bool]]:
    """Import statements (and ``importlib.import_module("literal")`` calls) that can run."""
    for node in body:
        if isinstance(node, ast.If) and _is_type_checking_guard(node):
            yield from _runtime_imports(node.orelse, in_function)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, in_function
            continue
        nested = in_function or isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        )
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield from _runtime_imports([child], nested)
            elif isinstance(child, ast.expr):
                for call in ast.walk(child):
                    if isinstance(call, ast.Call) and _is_import_module_call(call):
                        yield call, nested


def _is_import_module_call(call: ast.Call) -> bool:
    function = call.func
    named = (isinstance(function, ast.Attribute) and function.attr == "import_module") or (
        isinstance(function, ast.Name) and function.id == "import_module"
    )
    return named and bool(call.args) and isinstance(call.args[0], ast.Constant)


def _resolve(
    module: str, is_package: bool, node: ast.stmt | ast.Call, known: set[str]
) -> Iterator[str]:
    """The modules of ``known`` that ``node`` (written in ``module``) loads itself."""
    if isinstance(node, ast.Call):
        first = node.args[0]
        assert isinstance(first, ast.Constant)
        name = str(first.value)
        if name in known:
            yield name
        return
    if isinstance(node, ast.Import):
        for alias in node.names:
            name = alias.name
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                yield name
        return
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        package_parts = module.split(".") if is_package else module.split(".")[:-1]
        base_parts = package_parts[: len(package_parts) - (node.level - 1)]
        base = ".".join([*base_parts, *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        if submodule in known:
            yield submodule
        elif base in known:
            yield base


def _packages_above(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:depth]) for depth in range(1, len(parts))]


def import_edges() -> list[ImportEdge]:
    """Every runtime import between modules of the two packages."""
    files = module_files()
    known = set(files)
    edges: list[ImportEdge] = []
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node, in_function in _runtime_imports(tree.body, in_function=False):
            for imported in _resolve(module, is_package, node, known):
                # Loading a module first runs the __init__ of each package above it, so those
                # are imported too (except the importer's own packages, already running).
                for target in (*_packages_above(imported), imported):
                    if target != module and not module.startswith(f"{target}."):
                        edges.append(ImportEdge(module, target, node.lineno, in_function))
    return edges


def import_cycles(edges: list[ImportEdge]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.importer, set()).add(edge.imported)
        graph.setdefault(edge.imported, set())
    index_of: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        # Iterative, so a deep chain of imports cannot hit the recursion limit.
        nonlocal counter
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index_of[start] = lowlink[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index_of:
                    index_of[successor] = lowlink[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index_of[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index_of[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))

    for node in sorted(graph):
        if node not in index_of:
            visit(node)
    return components


def main() -> None:
    """Print each import cycle with the function-level imports inside it."""
    edges = import_edges()
    cycles = import_cycles(edges)
    deferred = [edge for edge in edges if edge.in_function]
    print(f"{len(edges)} imports, {len(deferred)} inside functions, {len(cycles)} cycles")
    for cycle in cycles:
        members = set(cycle)
        print(f"\ncycle of {len(cycle)} modules: {' '.join(cycle)}")
        for edge in deferred:
            if edge.importer in members and edge.imported in members:
                print(f"  deferred: {edge.importer}:{edge.line} -> {edge.imported}")


if __name__ == "__main__":
    main()
