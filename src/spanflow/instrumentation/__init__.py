"""Auto-instrumentation of LLM clients and traced steps."""
