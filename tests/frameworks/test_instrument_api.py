"""spanflow.instrument() and opentelemetry-instrument switch frameworks on lazily and by name."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap

import pytest

import spanflow
from spanflow.instrumentation.langchain import LangChainInstrumentor
from spanflow.instrumentation.mcp import MCPInstrumentor
from spanflow.instrumentation.openai_agents import OpenAIAgentsInstrumentor

LAZY_SCRIPT = """
    import sys
    import spanflow

    done = spanflow.instrument()
    frameworks = ("langchain_core", "langgraph", "agents", "mcp")
    print("instrumented", ",".join(done))
    print("imported", ",".join(name for name in frameworks if name in sys.modules) or "none")
    import langchain_core.tools.base as base
    import mcp.client.session as session
    wrapped = (base.BaseTool.run, base.BaseTool.arun, session.ClientSession.call_tool)
    print("patched", all(hasattr(method, "__wrapped__") for method in wrapped))
"""


def test_instrument_enables_installed_frameworks_without_importing_them() -> None:
    """instrument() names every installed framework, imports none, and patches them on import."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(LAZY_SCRIPT)],
        env={"SPANFLOW_EXPORTERS": "none", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["instrumented"].endswith(",langchain,openai_agents,mcp")  # after the clients
    assert lines["imported"] == "none"
    assert lines["patched"] == "True"


def test_frameworks_are_instrumented_one_by_one() -> None:
    """Each framework has its own name for instrument() and uninstrument()."""
    try:
        assert spanflow.instrument("langchain") == ["langchain"]
        assert LangChainInstrumentor().is_instrumented_by_opentelemetry
        assert not MCPInstrumentor().is_instrumented_by_opentelemetry
        assert spanflow.instrument("openai_agents", "mcp") == ["openai_agents", "mcp"]
        assert OpenAIAgentsInstrumentor().is_instrumented_by_opentelemetry
    finally:
        spanflow.uninstrument("langchain", "openai_agents", "mcp")
    assert not LangChainInstrumentor().is_instrumented_by_opentelemetry


def test_an_unknown_framework_is_a_clear_error() -> None:
    """A typo lists the frameworks too."""
    with pytest.raises(ValueError, match=r"'langchian'.*langchain, openai_agents, mcp"):
        spanflow.instrument("langchian")


def test_entry_points_name_the_framework_instrumentors() -> None:
    """opentelemetry-instrument finds the framework instrumentors through their entry points."""
    found = {
        entry.name: entry.load()
        for entry in importlib.metadata.entry_points(group="opentelemetry_instrumentor")
    }
    assert found["spanflow_langchain"] is LangChainInstrumentor
    assert found["spanflow_openai_agents"] is OpenAIAgentsInstrumentor
    assert found["spanflow_mcp"] is MCPInstrumentor
    assert list(LangChainInstrumentor().instrumentation_dependencies()) == ["langchain-core >= 0.3"]
