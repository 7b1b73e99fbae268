"""Every environment variable spanflow reads, in one place (documented in docs/configuration.md).

Standard ``OTEL_*`` variables are honoured as the OpenTelemetry SDK defines them; the names are
listed here so no module spells one by hand.
"""

from __future__ import annotations

import os
from typing import Final

# --- spanflow's own ---------------------------------------------------------------------------
SPANFLOW_PROJECT: Final = "SPANFLOW_PROJECT"  # default project for runs ("default")
SPANFLOW_ENDPOINT: Final = "SPANFLOW_ENDPOINT"  # spanflow collector base URL (OTLP/HTTP)
SPANFLOW_DB: Final = "SPANFLOW_DB"  # embedded index path (default ./.spanflow/index.db)
SPANFLOW_EXPORTERS: Final = "SPANFLOW_EXPORTERS"  # comma list: embedded,otlp,console,none
SPANFLOW_HEARTBEAT_INTERVAL_S: Final = "SPANFLOW_HEARTBEAT_INTERVAL_S"  # default 30
SPANFLOW_CAPTURE_CONTENT: Final = "SPANFLOW_CAPTURE_CONTENT"  # true/false (default true)
SPANFLOW_MAX_CONTENT_CHARS: Final = "SPANFLOW_MAX_CONTENT_CHARS"  # per content attribute
SPANFLOW_DATAFLOW: Final = "SPANFLOW_DATAFLOW"  # true/false/inline: dataflow edge detection
SPANFLOW_COLLECTOR_TOKEN: Final = "SPANFLOW_COLLECTOR_TOKEN"  # bearer token for the collector
SPANFLOW_MAX_RUN_KEYS: Final = "SPANFLOW_MAX_RUN_KEYS"  # params/outputs/inputs per run (100000)
SPANFLOW_MAX_RUN_METRIC_POINTS: Final = "SPANFLOW_MAX_RUN_METRIC_POINTS"  # per run (10000000)
# artifacts block: content above this many bytes is logged as a reference (docs/artifacts.md)
SPANFLOW_MAX_ARTIFACT_BYTES: Final = "SPANFLOW_MAX_ARTIFACT_BYTES"  # default 1 MiB, at most 8
# Delivery through outages (docs/configuration.md, "Outages, the spool and exit")
SPANFLOW_SPOOL_DIR: Final = "SPANFLOW_SPOOL_DIR"  # default <user cache dir>/spanflow/spool
SPANFLOW_SPOOL_MAX_BYTES: Final = "SPANFLOW_SPOOL_MAX_BYTES"  # default 100 MiB; 0: no spool
SPANFLOW_EXIT_TIMEOUT_S: Final = "SPANFLOW_EXIT_TIMEOUT_S"  # longest wait at exit (default 2)
SPANFLOW_REQUIRE_POSTGRES: Final = "SPANFLOW_REQUIRE_POSTGRES"  # tests: fail without PostgreSQL
SPANFLOW_TEST_POSTGRES_URL: Final = "SPANFLOW_TEST_POSTGRES_URL"  # tests: server to use
SPANFLOW_FUZZ_EXAMPLES: Final = "SPANFLOW_FUZZ_EXAMPLES"  # tests: examples per fuzz test/property
# Secret redaction (docs/secrets.md)
SPANFLOW_REDACT: Final = "SPANFLOW_REDACT"  # true/false (default true): redact secrets
SPANFLOW_REDACT_PATTERNS: Final = "SPANFLOW_REDACT_PATTERNS"  # extra regexes, one per line
# providers instrumentation block
SPANFLOW_STREAM_USAGE: Final = "SPANFLOW_STREAM_USAGE"  # true: ask OpenAI streams for usage
# Framework instrumentation (docs/instrumentation.md)
SPANFLOW_OPENINFERENCE: Final = "SPANFLOW_OPENINFERENCE"  # true/false (default false)

# --- replay (docs/replay.md) -------------------------------------------------------------------
SPANFLOW_RECORD_RESPONSES: Final = "SPANFLOW_RECORD_RESPONSES"  # true/false (default true)
SPANFLOW_RECORD_LAUNCH: Final = "SPANFLOW_RECORD_LAUNCH"  # true: every run records its launch
SPANFLOW_REPLAY: Final = "SPANFLOW_REPLAY"  # path of a replay plan, set by `spanflow replay`

# --- collector access (read by `spanflow collector` only) -------------------------------------
SPANFLOW_COLLECTOR_INGEST_TOKEN: Final = "SPANFLOW_COLLECTOR_INGEST_TOKEN"  # OTLP ingest only
SPANFLOW_COLLECTOR_READ_TOKEN: Final = "SPANFLOW_COLLECTOR_READ_TOKEN"  # query API reads only

# --- OpenTelemetry's --------------------------------------------------------------------------
OTEL_SDK_DISABLED: Final = "OTEL_SDK_DISABLED"
OTEL_SERVICE_NAME: Final = "OTEL_SERVICE_NAME"
OTEL_RESOURCE_ATTRIBUTES: Final = "OTEL_RESOURCE_ATTRIBUTES"
OTEL_EXPORTER_OTLP_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
OTEL_EXPORTER_OTLP_HEADERS: Final = "OTEL_EXPORTER_OTLP_HEADERS"
OTEL_EXPORTER_OTLP_TRACES_HEADERS: Final = "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
OTEL_EXPORTER_OTLP_PROTOCOL: Final = "OTEL_EXPORTER_OTLP_PROTOCOL"
OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: Final = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
OTEL_EXPORTER_OTLP_COMPRESSION: Final = "OTEL_EXPORTER_OTLP_COMPRESSION"
OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: Final = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"
OTEL_EXPORTER_OTLP_CERTIFICATE: Final = "OTEL_EXPORTER_OTLP_CERTIFICATE"
OTEL_EXPORTER_OTLP_TIMEOUT: Final = "OTEL_EXPORTER_OTLP_TIMEOUT"
OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: Final = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: Final = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"
# Run records travel as OTLP logs: these steer them (docs/configuration.md, "OTLP logs").
OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"
OTEL_EXPORTER_OTLP_LOGS_HEADERS: Final = "OTEL_EXPORTER_OTLP_LOGS_HEADERS"
OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: Final = "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION"
OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: Final = "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT"
OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: Final = (
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
)
TRACEPARENT: Final = "TRACEPARENT"  # W3C trace context handed to child processes
SPANFLOW_RUN_CONTEXT: Final = "SPANFLOW_RUN_CONTEXT"  # JSON run handle for child processes


# --- settings block: defaults the SDK, the CLI and the collector share --------------------------
class Default:
    """What a variable above means when it is unset, for the values more than one part needs."""

    SPANFLOW_DB: Final = os.path.join(".spanflow", "index.db")  # relative to the working directory
    SPANFLOW_PROJECT: Final = "default"
    SPANFLOW_HEARTBEAT_INTERVAL_S: Final = 30.0  # the index judges silence from it
