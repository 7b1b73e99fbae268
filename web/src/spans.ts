// Facts read from span attributes (names from spanflow.attributes / OTel GenAI conventions).

import type { Span, Value } from "./api";

export const SPAN_KIND = "spanflow.span.kind";
const MARKER_KINDS = new Set(["run.start", "run.heartbeat"]);

export function spanKind(span: Span): string {
  const kind = span.attributes[SPAN_KIND];
  return typeof kind === "string" ? kind : "span";
}

export function isMarker(span: Span): boolean {
  return MARKER_KINDS.has(spanKind(span));
}

export function isError(span: Span): boolean {
  return span.status_code === 2;
}

export function latencySeconds(span: Span): number {
  return (span.end_time_unix_nano - span.start_time_unix_nano) / 1e9;
}

function numberAttribute(span: Span, key: string): number | null {
  const value: Value | undefined = span.attributes[key];
  return typeof value === "number" ? value : null;
}

export function tokens(span: Span): { input: number | null; output: number | null } {
  return {
    input: numberAttribute(span, "gen_ai.usage.input_tokens"),
    output: numberAttribute(span, "gen_ai.usage.output_tokens"),
  };
}

export function model(span: Span): string | null {
  const value = span.attributes["gen_ai.response.model"] ?? span.attributes["gen_ai.request.model"];
  return typeof value === "string" ? value : null;
}

export function timeToFirstChunk(span: Span): number | null {
  return numberAttribute(span, "gen_ai.response.time_to_first_chunk");
}
