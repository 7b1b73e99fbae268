"""The public names of spanflow.dataflow, pinned so a change to them is deliberate."""

from __future__ import annotations

import spanflow
import spanflow.dataflow


def test_dataflow_exports() -> None:
    """spanflow.dataflow exports exactly the seam, the switches, the explicit API and the graph."""
    assert spanflow.dataflow.__all__ == [
        "CallInputs",
        "CallOutputs",
        "DataflowDetector",
        "DataflowEdge",
        "DataflowGraph",
        "DataflowNode",
        "TextField",
        "dataflow_mode",
        "get_detector",
        "graph",
        "link",
        "link_dataflow",
        "on_call_end",
        "on_call_start",
        "register_output",
        "set_dataflow",
    ]
    for name in spanflow.dataflow.__all__:
        assert hasattr(spanflow.dataflow, name)


def test_top_level_link_and_graph_are_the_dataflow_ones() -> None:
    """spanflow.link_dataflow (and its old name link) are the dataflow ones; spanflow.graph
    reads spans as it does (and run ids)."""
    assert spanflow.link_dataflow is spanflow.dataflow.link_dataflow
    assert spanflow.link is spanflow.dataflow.link
    spans = [{"span_id": "a", "name": "chat", "attributes": {"spanflow.span.kind": "llm"}}]
    assert spanflow.graph(spans) == spanflow.dataflow.graph(spans)
    assert {"graph", "link", "link_dataflow"} <= set(spanflow.__all__)
