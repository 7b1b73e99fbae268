"""The spanflow collector: OTLP receivers, the ingest pipeline and the run index stores."""
