"""The instrumentor base: lazy patching, suppression, nesting and the tracer's schema."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from spanflow.instrumentation.openai import OpenAIInstrumentor
from spanflow.testing import FakeLLMServer, SpanCapture
from tests.instrumentation.helpers import close_clients, llm_spans, openai_client

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}

LAZY_SCRIPT = textwrap.dedent(
    """
    import sys
    import spanflow
    from spanflow.testing import capture_spans
    with capture_spans() as capture:
        done = spanflow.instrument()
        libraries = ("openai", "anthropic", "ollama", "mistralai", "cohere", "litellm", "botocore")
        imported = sorted(m for m in libraries if m in sys.modules)
        print("instrumented", done, "imported", imported)
        import openai
        from openai import _base_client
        print("patched", hasattr(_base_client.SyncAPIClient.request, "__wrapped__"))
    """
)


def test_instrument_imports_no_client_library_and_patches_it_when_imported() -> None:
    """instrument() leaves unused SDKs unimported; a later import of one is patched on arrival."""
    result = subprocess.run(
        [sys.executable, "-c", LAZY_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("imported []")
    assert "'google_genai'" in lines[0] and "'litellm'" in lines[0]
    assert lines[1] == "patched True"


def test_suppressed_instrumentation_makes_no_span(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """Inside OpenTelemetry's suppress_instrumentation() a call goes through untraced."""
    client = openai_client(llm)
    with suppress_instrumentation():
        reply = client.chat.completions.create(**CHAT)
    assert reply.choices[0].message.content
    assert llm_spans(traced) == []
    client.chat.completions.create(**CHAT)
    assert len(llm_spans(traced)) == 1


def test_the_llm_tracer_names_the_semantic_conventions_schema(llm: FakeLLMServer) -> None:
    """LLM spans come from a tracer whose schema URL names the GenAI conventions' version."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        openai_client(llm).chat.completions.create(**CHAT)
    finally:
        instrumentor.uninstrument()
        close_clients()
    (span,) = exporter.get_finished_spans()
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.schema_url == "https://opentelemetry.io/schemas/1.37.0"


def test_uninstrument_before_import_leaves_the_library_unpatched() -> None:
    """A hook armed by instrument() and disarmed by uninstrument() never patches the library."""
    script = textwrap.dedent(
        """
        import spanflow
        from spanflow.testing import capture_spans
        with capture_spans():
            spanflow.instrument("anthropic")
            spanflow.uninstrument("anthropic")
            from anthropic import _base_client
            print(hasattr(_base_client.SyncAPIClient.request, "__wrapped__"))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


LATE_IMPORT_SCRIPT = textwrap.dedent(
    """
    import sys
    import spanflow
    from spanflow.testing import FakeLLMServer, capture_spans

    with FakeLLMServer() as llm, capture_spans() as capture:
        spanflow.instrument()
        print("openai imported after instrument():", "openai" in sys.modules)
        print("anthropic imported after instrument():", "anthropic" in sys.modules)
        import openai
        with openai.OpenAI(base_url=llm.openai_base_url, api_key="sk-test-0") as client:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
            )
        import anthropic
        with anthropic.Anthropic(base_url=llm.anthropic_base_url, api_key="sk-ant-0") as claude:
            claude.messages.create(
                model="claude-sonnet-4", max_tokens=16,
                messages=[{"role": "user", "content": "Hi"}],
            )
        spanflow.uninstrument()
        with openai.OpenAI(base_url=llm.openai_base_url, api_key="sk-test-0") as client:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Untraced"}]
            )
        print("spans:", sorted(span.name for span in capture.spans()))
    """
)


def test_a_client_imported_after_instrument_is_traced_until_uninstrument() -> None:
    """Providers stay unimported by instrument(), are traced once imported, untraced after."""
    result = subprocess.run(
        [sys.executable, "-c", LATE_IMPORT_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "openai imported after instrument(): False",
        "anthropic imported after instrument(): False",
        "spans: ['chat claude-sonnet-4', 'chat gpt-4o-mini']",
    ]


def test_uninstrument_disarms_the_import_hook_of_a_library_not_yet_imported() -> None:
    """After uninstrument(), importing a client library that was never imported patches nothing.

    And instrumenting again after the import (the library already loaded) patches it at once.
    """
    script = textwrap.dedent(
        """
        import spanflow
        from spanflow.testing import capture_spans
        with capture_spans():
            spanflow.instrument("openai")
            spanflow.uninstrument("openai")
            from openai import _base_client
            print(hasattr(_base_client.SyncAPIClient.request, "__wrapped__"))
            spanflow.instrument("openai")
            print(hasattr(_base_client.SyncAPIClient.request, "__wrapped__"))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
