"""Small structural parsers for the Mermaid and DOT that ``DataflowGraph`` writes.

Each returns the nodes and edges with their labels decoded, and fails on any line that is not
exactly one node or one edge statement: a label that broke out of its quotes, brackets or
line shows up as a line that does not parse, or as a node or edge too many.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MERMAID_NODE = re.compile(r'  (n[0-9]+)\["([^"]*)"\]')
_MERMAID_EDGE = re.compile(r'  (n[0-9]+) -->\|"([^"|]*)"\| (n[0-9]+)')
_MERMAID_SPECIAL = frozenset('"[]{}()|<>`')
_MERMAID_ENTITY = re.compile(r"#([0-9]+|quot|lt|gt);")
_MERMAID_NAMED = {"quot": '"', "lt": "<", "gt": ">"}

_DOT_STRING = r'"((?:[^"\\\n]|\\.)*)"'  # disjoint alternatives: no backtracking blow-up
_DOT_NODE = re.compile(rf"  {_DOT_STRING} \[label={_DOT_STRING}\];")
_DOT_EDGE = re.compile(rf"  {_DOT_STRING} -> {_DOT_STRING} \[label={_DOT_STRING}\];")
_DOT_HEADER = ["digraph dataflow {", "  rankdir=LR;", "  node [shape=box];"]


@dataclass(frozen=True)
class ParsedGraph:
    """Node labels (each a list of label lines) by node id, and (producer, consumer, label)."""

    nodes: dict[str, list[str]]
    edges: list[tuple[str, str, str]]


def parse_mermaid(text: str) -> ParsedGraph:
    """Parse ``flowchart LR`` output; raise AssertionError on anything else."""
    assert text.endswith("\n")
    first, *lines = text[:-1].split("\n")
    assert first == "flowchart LR"
    nodes: dict[str, list[str]] = {}
    edges: list[tuple[str, str, str]] = []
    for line in lines:
        if node := _MERMAID_NODE.fullmatch(line):
            parts = node.group(2).split("<br/>")
            assert all(not _MERMAID_SPECIAL & set(part) for part in parts), line
            assert node.group(1) not in nodes, f"node defined twice: {line}"
            nodes[node.group(1)] = [_mermaid_decode(part) for part in parts]
        elif edge := _MERMAID_EDGE.fullmatch(line):
            label = edge.group(2)
            assert not _MERMAID_SPECIAL & set(label), line
            edges.append((edge.group(1), edge.group(3), _mermaid_decode(label)))
        else:
            raise AssertionError(f"not one Mermaid node or edge: {line!r}")
    return ParsedGraph(nodes, edges)


def _mermaid_decode(label: str) -> str:
    def entity(match: re.Match[str]) -> str:
        code = match.group(1)
        return _MERMAID_NAMED.get(code) or chr(int(code))

    return _MERMAID_ENTITY.sub(entity, label)


def parse_dot(text: str) -> ParsedGraph:
    """Parse ``digraph dataflow`` output; raise AssertionError on anything else."""
    assert text.endswith("}\n")
    lines = text[:-1].split("\n")
    assert lines[:3] == _DOT_HEADER and lines[-1] == "}"
    nodes: dict[str, list[str]] = {}
    edges: list[tuple[str, str, str]] = []
    for line in lines[3:-1]:
        if node := _DOT_NODE.fullmatch(line):
            node_id = "\n".join(_dot_decode(node.group(1)))
            assert node_id not in nodes, f"node defined twice: {line}"
            nodes[node_id] = _dot_decode(node.group(2))
        elif edge := _DOT_EDGE.fullmatch(line):
            producer, consumer, label = (_dot_decode(edge.group(i)) for i in (1, 2, 3))
            assert len(label) == 1, f"an edge label broke its line: {line}"
            edges.append(("\n".join(producer), "\n".join(consumer), label[0]))
        else:
            raise AssertionError(f"not one DOT node or edge: {line!r}")
    return ParsedGraph(nodes, edges)


def _dot_decode(quoted: str) -> list[str]:
    """The lines of a DOT string: ``\\n`` breaks a line, ``\\x`` is a literal ``x``."""
    lines = [""]
    index = 0
    while index < len(quoted):
        char = quoted[index]
        if char == "\\":
            escaped = quoted[index + 1]
            if escaped == "n":
                lines.append("")
            else:
                lines[-1] += escaped
            index += 2
        else:
            lines[-1] += char
            index += 1
    return lines
