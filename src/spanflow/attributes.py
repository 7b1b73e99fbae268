"""Every span attribute, event and link key spanflow writes or reads, in one place.

The SDK writes these, the collector reads them; `docs/attributes.md` documents each one.
OpenTelemetry GenAI semantic-convention keys (``gen_ai.*``) are listed here too so that no
module spells a key by hand. See
https://github.com/open-telemetry/semantic-conventions/blob/main/docs/gen-ai/gen-ai-spans.md
"""

from __future__ import annotations

from enum import Enum
from typing import Final

# --- What a span is, for spanflow -------------------------------------------------------------
SPAN_KIND: Final = "spanflow.span.kind"
"""One of the ``SpanKindValue`` strings below; absent on spans spanflow did not make."""


class SpanKindValue:
    """Values of ``spanflow.span.kind``."""

    RUN: Final = "run"  # the root span of a run segment
    # Marker spans of spanflow before run records: no longer sent, still read in old indexes.
    RUN_START: Final = "run.start"
    RUN_HEARTBEAT: Final = "run.heartbeat"
    LLM: Final = "llm"  # one LLM client call (GenAI CLIENT span)
    STEP: Final = "step"  # a traced function / tool (``@spanflow.step``)
    # Framework instrumentation (LangChain/LangGraph, OpenAI Agents SDK, MCP):
    TOOL: Final = "tool"  # one tool call (GenAI ``execute_tool`` span)
    AGENT: Final = "agent"  # one agent invocation (GenAI ``invoke_agent`` span)
    CHAIN: Final = "chain"  # a graph node, handoff or guardrail of a framework


# --- Runs (root spans, start markers, heartbeats) --------------------------------------------
RUN_ID: Final = "spanflow.run.id"
"""ULID string. On run roots and markers, and stamped on every span started inside a run."""
RUN_NAME: Final = "spanflow.run.name"
PROJECT: Final = "spanflow.project"
RUN_TAGS: Final = "spanflow.run.tags"  # string[]
RUN_PARENT_ID: Final = "spanflow.run.parent_id"  # subruns: the enclosing run's id
RUN_SEGMENT: Final = "spanflow.run.segment"  # int, 0 for the first segment, +1 per resume
RUN_STATUS: Final = "spanflow.run.status"  # final status on the root span: see RunStatus
RUN_HEARTBEAT_INTERVAL_S: Final = "spanflow.run.heartbeat_interval_s"  # float, on run.start
RUN_ATTRIBUTE_PREFIX: Final = "spanflow.run.attr."  # free **attributes given to run()
RUN_DROPPED_SPANS: Final = "spanflow.run.dropped_spans"
"""int, on the run root when spans were lost while it ran: refused by an endpoint (400...) or
dropped past the spool's bound. Absent when nothing was lost."""

PARAM_PREFIX: Final = "spanflow.param."
"""``spanflow.param.<key>``: a param. bool/int/float/str stay native; anything else is JSON."""
METRIC_PREFIX: Final = "spanflow.metric."
"""``spanflow.metric.<name>``: the last logged value of a metric (float), on the run root."""
OUTPUT_PREFIX: Final = "spanflow.output."
"""``spanflow.output.<name>``: a logged output; str stays native, anything else is JSON."""

ERROR_TYPE: Final = "error.type"  # OTel general key: exception class qualname, on failure
ERROR_MESSAGE: Final = "spanflow.error.message"


class RunStatus(str, Enum):
    """A run's status: the values of ``spanflow.run.status`` and of a run's status in the index.

    Each member is a ``str`` equal to its value (``RunStatus.FAILED == "failed"``), hashes like
    it, and prints, formats and JSON-encodes as the plain value, so stores, filters and output
    see the same strings as before; ``RunStatus(run.status)`` turns a read status into a member.
    """

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    # A (str, Enum) prints as "RunStatus.FAILED", and its format() differs between Python
    # versions (3.12 changed it); the plain value everywhere keeps f-strings and logs stable.
    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, format_spec: str) -> str:
        return str.__format__(str.__str__(self), format_spec)


# --- Span events on the run root ---------------------------------------------------------------
EVENT_METRIC: Final = "spanflow.metric"  # one per log_metric point
EVENT_METRIC_NAME: Final = "spanflow.metric.name"
EVENT_METRIC_VALUE: Final = "spanflow.metric.value"  # float
EVENT_METRIC_STEP: Final = "spanflow.metric.step"  # int, absent when no step was given

EVENT_ARTIFACT: Final = "spanflow.artifact"  # one per log_artifact
ARTIFACT_NAME: Final = "spanflow.artifact.name"
ARTIFACT_PATH: Final = "spanflow.artifact.path"
ARTIFACT_SIZE: Final = "spanflow.artifact.size"  # bytes, int
ARTIFACT_SHA256: Final = "spanflow.artifact.sha256"
ARTIFACT_MEDIA_TYPE: Final = "spanflow.artifact.media_type"
# artifacts block: content carried in the run.artifact record's body (bytes) when stored
ARTIFACT_STORED: Final = "spanflow.artifact.stored"  # bool: the body holds the content

# --- Run records: OTLP log records carrying a run's data and liveness ------------------------
RECORD_KIND: Final = "spanflow.record.kind"
"""One of the ``RecordKindValue`` strings; also the LogRecord's ``event_name``."""
RECORD_ID: Final = "spanflow.record.id"  # hex string, unique per record of a run: resends dedupe
RUN_TRUNCATED: Final = "spanflow.run.truncated"  # string[] on run.truncated: what was cut
METRICS_BODY_NAME: Final = "name"  # run.metrics body (kvlist of parallel arrays): string[]
METRICS_BODY_VALUE: Final = "value"  # double[]
METRICS_BODY_STEP: Final = "step"  # int[], an empty AnyValue where a point has no step
METRICS_BODY_TIME: Final = "time_unix_nano"  # int[]


class RecordKindValue:
    """Values of ``spanflow.record.kind``: what one run record says."""

    START: Final = "spanflow.run.start"  # a segment opened: name, project, tags, parent, interval
    HEARTBEAT: Final = "spanflow.run.heartbeat"  # the run's process is alive
    PARAMS: Final = "spanflow.run.params"  # body: kvlist of params
    METRICS: Final = "spanflow.run.metrics"  # body: kvlist of parallel point arrays
    OUTPUTS: Final = "spanflow.run.outputs"  # body: kvlist of outputs
    INPUTS: Final = "spanflow.run.inputs"  # body: kvlist of inputs
    ATTRIBUTES: Final = "spanflow.run.attributes"  # body: kvlist of run(**attributes)
    TAGS: Final = "spanflow.run.tags"  # body: string array of added tags
    ARTIFACT: Final = "spanflow.run.artifact"  # attributes: spanflow.artifact.*; body: bytes
    TRUNCATED: Final = "spanflow.run.truncated"  # attributes: spanflow.run.truncated


# --- Links ------------------------------------------------------------------------------------
LINK_TYPE: Final = "spanflow.link.type"


class LinkTypeValue:
    """Values of ``spanflow.link.type``."""

    DATAFLOW: Final = "dataflow"  # consumer span -> producer span
    PARENT_RUN: Final = "parent_run"  # subrun root -> enclosing run's root span
    RESUME: Final = "resume"  # resumed segment root -> previous segment's root (when known)


LINK_HOW: Final = "spanflow.link.how"  # see LinkHowValue
LINK_SCORE: Final = "spanflow.link.score"  # float in [0, 1]
LINK_INPUT_FIELDS: Final = "spanflow.link.input_fields"  # string[] of consumer field paths
LINK_OUTPUT_FIELD: Final = "spanflow.link.output_field"  # producer field path


class LinkHowValue:
    """Values of ``spanflow.link.how``: how a dataflow edge was found."""

    RESPONSE_ID: Final = "response_id"  # previous_response_id / re-sent response items
    TOOL_CALL: Final = "tool_call"  # a tool result answering a tool call the producer emitted
    VERBATIM: Final = "content.verbatim"  # the producer's output text appears whole
    PARTIAL: Final = "content.partial"  # a substantial part of it appears
    EXPLICIT: Final = "explicit"  # spanflow.link_dataflow(...) or a marked value


# --- Steps (@spanflow.step) --------------------------------------------------------------------
STEP_NAME: Final = "spanflow.step.name"
STEP_INPUT: Final = "spanflow.step.input"  # JSON of the bound arguments (content capture)
STEP_OUTPUT: Final = "spanflow.step.output"  # JSON of the return value (content capture)

# --- Instrumentation facts that GenAI semconv has no key for ---------------------------------
CONTENT_TRUNCATED: Final = "spanflow.content.truncated"  # bool: a content attribute was cut
STREAM: Final = "spanflow.stream"  # bool: the call streamed
STREAM_ABANDONED: Final = "spanflow.stream.abandoned"  # bool: stream dropped unfinished
INTERNAL_ERROR: Final = "spanflow.internal_error"  # str: spanflow's own failure, never raised
# providers instrumentation block
USAGE_UNKNOWN: Final = "spanflow.usage.unknown"  # bool: the provider reported no token usage

# --- Secret redaction (docs/secrets.md) ---------------------------------------------------------
REDACTION_OFF: Final = "spanflow.redaction.off"
"""bool, True on spans whose values were deliberately not redacted (``run(..., redact=False)``,
``configure(redact=False)``); the collector then stores that span as sent."""

# --- Replay (docs/replay.md) -------------------------------------------------------------------
REPLAY_REQUEST: Final = "spanflow.replay.request"  # LLM span: hash of the canonical request
REPLAY_EXCHANGE: Final = "spanflow.replay.exchange"  # LLM span: zlib+base64 recorded responses
REPLAY_SOURCE: Final = "spanflow.replay.source"  # LLM span in a replay: ReplaySourceValue
REPLAY_ORIGINAL_SPAN: Final = "spanflow.replay.original_span"  # span id the answer came from
REPLAY_MISS_REASON: Final = "spanflow.replay.miss_reason"  # LLM span in a replay, when live
REPLAY_UNSUPPORTED: Final = "spanflow.replay.unsupported"  # LLM span: why it has no recording
REPLAY_OF_RUN_ATTRIBUTE: Final = "replay_of"  # run attribute (spanflow.run.attr.replay_of)
LAUNCH_RUN_ATTRIBUTE: Final = "launch"  # run attribute: JSON of how to start the run again


class ReplaySourceValue:
    """Values of ``spanflow.replay.source``: where a replayed call's answer came from."""

    SERVED: Final = "served"  # the recorded response, no network request
    EDITED: Final = "edited"  # the recorded response with its output replaced by --edit
    LIVE: Final = "live"  # no matching recording: the provider answered


# --- OpenTelemetry GenAI semantic conventions ---------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"  # chat | embeddings | ...
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"  # openai | anthropic | ...
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
GEN_AI_REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"  # seconds
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"  # JSON
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"  # JSON
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"  # JSON
GEN_AI_TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"  # JSON
GEN_AI_EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"

# --- Resumed segments ---------------------------------------------------------------------------
RUN_PROJECT_ASSUMED: Final = "spanflow.run.project_assumed"
"""bool, on the root and start marker of a resumed segment whose project neither ``run()`` nor
this process knew: its ``spanflow.project`` is the configured default, and the index keeps the
project an earlier segment stated instead."""

# --- Collector ingest (ingest-edge) ----------------------------------------------------------
INGEST_ADJUSTMENTS: Final = "spanflow.ingest.adjustments"
"""string[]: what the collector changed in a span to store it (one entry per change)."""


# --- Tool and agent spans of framework instrumentation (docs/instrumentation.md) ---------------
class GenAiOperationValue:
    """Values of ``gen_ai.operation.name`` on the spans framework instrumentation makes."""

    EXECUTE_TOOL: Final = "execute_tool"
    INVOKE_AGENT: Final = "invoke_agent"


GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"  # function | extension | datastore
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"  # JSON (content capture)
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"  # JSON (content capture)
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
CHAIN_NAME: Final = "spanflow.chain.name"  # graph node, handoff or guardrail name
HANDOFF_FROM_AGENT: Final = "spanflow.handoff.from_agent"
HANDOFF_TO_AGENT: Final = "spanflow.handoff.to_agent"
LANGGRAPH_STEP: Final = "spanflow.langgraph.step"  # int: the superstep a graph node ran in
GUARDRAIL_TRIGGERED: Final = "spanflow.guardrail.triggered"  # bool
MCP_METHOD_NAME: Final = "mcp.method.name"  # tools/call | resources/read
MCP_RESOURCE_URI: Final = "mcp.resource.uri"

# --- OpenInference compatibility mode (configure(openinference=True)) ---------------------------
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"  # see OpenInferenceSpanKindValue


class OpenInferenceSpanKindValue:
    """Values of ``openinference.span.kind`` spanflow writes in OpenInference mode."""

    LLM: Final = "LLM"
    EMBEDDING: Final = "EMBEDDING"
    TOOL: Final = "TOOL"
    AGENT: Final = "AGENT"
    CHAIN: Final = "CHAIN"


INPUT_VALUE: Final = "input.value"
INPUT_MIME_TYPE: Final = "input.mime_type"
OUTPUT_VALUE: Final = "output.value"
OUTPUT_MIME_TYPE: Final = "output.mime_type"

# --- Keys other modules build from a prefix, listed so docs/attributes.md is checked (docs) ---
RUN_RERUN_OF: Final = "spanflow.run.attr.rerun_of"
"""The ``rerun_of`` free attribute a ``run(id=X, if_exists="new")`` run carries: X."""

# --- settings block: spanflow's own failures (docs/attributes.md, "Runs") ----------------------
RUN_INTERNAL_ERRORS: Final = "spanflow.run.internal_errors"
"""int, on the run root when spanflow itself failed while the run was open (counted per process:
every run open at the time carries it); the failures were logged and never reached user code."""
