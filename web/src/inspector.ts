// The call inspector: everything one LLM call or step recorded, as text, never as HTML.

import type { Graph, ReplayMark, Span, Value } from "./api";
import { type Child, h } from "./dom";
import { REPLAY_SOURCES } from "./graph-parts";
import { runHref } from "./router";
import { formatCount, formatDuration, formatValue } from "./format";
import { isError, latencySeconds, model, spanKind, timeToFirstChunk, tokens } from "./spans";
import { foldedText, kvTable, parseJson } from "./widgets";

const REQUEST_PREFIX = "gen_ai.request.";

export function inspector(span: Span, spans: Span[], graph: Graph, onSelect: (spanId: string | null) => void): Child[] {
  const names = new Map(spans.map((s) => [s.span_id, s.name]));
  const usage = tokens(span);
  const ttft = timeToFirstChunk(span);
  const attrs = span.attributes;
  const close = h("button", { type: "button", class: "close", "aria-label": "close the inspector" }, "×");
  close.addEventListener("click", () => onSelect(null));
  const requestParams = Object.entries(attrs).filter(([key]) => key.startsWith(REQUEST_PREFIX) && key !== "gen_ai.request.model");
  const incoming = graph.edges.filter((edge) => edge.consumer === span.span_id);
  const outgoing = graph.edges.filter((edge) => edge.producer === span.span_id);
  const link = (spanId: string, text: string) => {
    const button = h("button", { type: "button", class: "link", "data-follow": spanId }, text);
    button.addEventListener("click", () => onSelect(spanId));
    return button;
  };
  const exceptions = span.events.filter((event) => event.name === "exception");
  const mark = graph.nodes.find((node) => node.span_id === span.span_id)?.replay ?? null;
  return [
    h("div", { class: "inspector-head" },
      h("h2", null, span.name), close),
    h("p", { class: "muted" }, `${spanKind(span)}${model(span) ? ` · ${model(span)}` : ""} · span ${span.span_id}`),
    attrs["spanflow.content.truncated"] === true
      ? h("p", { class: "notice" }, "Some content of this call was cut when it was recorded (spanflow.content.truncated).")
      : null,
    isError(span) || attrs["error.type"]
      ? h("div", { class: "error", role: "alert" },
          h("strong", null, formatValue(attrs["error.type"] ?? "error")), " ",
          foldedText(span.status_message || formatValue(attrs["spanflow.error.message"] ?? "")),
          exceptions.map((event) => foldedText(formatValue(event.attributes["exception.stacktrace"] ?? event.attributes["exception.message"] ?? ""), "code")))
      : null,
    h("dl", { class: "facts" },
      h("dt", null, "Latency"), h("dd", null, formatDuration(latencySeconds(span))),
      h("dt", null, "Time to first chunk"), h("dd", null, ttft === null ? "–" : formatDuration(ttft)),
      h("dt", null, "Input tokens"), h("dd", null, formatCount(usage.input)),
      h("dt", null, "Output tokens"), h("dd", null, formatCount(usage.output)),
    ),
    mark ? section("Replay", replaySection(mark, graph)) : null,
    section("Dataflow in", incoming.length
      ? h("ul", { class: "links" }, incoming.map((edge) => h("li", null, "from ", link(edge.producer, names.get(edge.producer) ?? edge.producer),
          ` — ${edge.how}, score ${edge.score.toFixed(2)}${edge.input_fields.length ? `, into ${edge.input_fields.join(", ")}` : ""}`)))
      : h("p", { class: "muted" }, "no earlier call fed this one")),
    section("Dataflow out", outgoing.length
      ? h("ul", { class: "links" }, outgoing.map((edge) => h("li", null, "to ", link(edge.consumer, names.get(edge.consumer) ?? edge.consumer),
          ` — ${edge.how}, score ${edge.score.toFixed(2)}`)))
      : h("p", { class: "muted" }, "no later call used this output")),
    attrs["gen_ai.system_instructions"] !== undefined ? section("System prompt", messageParts(attrs["gen_ai.system_instructions"])) : null,
    attrs["gen_ai.input.messages"] !== undefined ? section("Input messages", messages(attrs["gen_ai.input.messages"])) : null,
    attrs["gen_ai.output.messages"] !== undefined ? section("Output", messages(attrs["gen_ai.output.messages"])) : null,
    attrs["spanflow.step.input"] !== undefined ? section("Step input", jsonBlock(attrs["spanflow.step.input"])) : null,
    attrs["spanflow.step.output"] !== undefined ? section("Step output", jsonBlock(attrs["spanflow.step.output"])) : null,
    attrs["gen_ai.tool.definitions"] !== undefined ? section("Tool definitions", jsonBlock(attrs["gen_ai.tool.definitions"])) : null,
    requestParams.length ? section("Request parameters", kvTable(requestParams)) : null,
    h("details", { class: "raw" }, h("summary", null, `Raw attributes (${Object.keys(attrs).length})`),
      kvTable(Object.entries(attrs).sort(([a], [b]) => a.localeCompare(b)))),
  ];
}

function section(title: string, body: Node | Node[]): HTMLElement {
  return h("section", { class: "inspector-section" }, h("h3", null, title), body);
}

function jsonBlock(value: Value | undefined): HTMLElement {
  const parsed = parseJson(value);
  return foldedText(parsed === null ? formatValue(value ?? null) : JSON.stringify(parsed, null, 2), "code");
}

/** GenAI messages (`[{role, parts: [...]}]`) by role; anything else shown as its text. */
function messages(value: Value | undefined): Node[] {
  const parsed = parseJson(value);
  if (!Array.isArray(parsed)) return [foldedText(formatValue(value ?? null))];
  return parsed.map((message) => {
    const role = typeof message?.role === "string" ? message.role : "message";
    const finish = typeof message?.finish_reason === "string" ? ` (finish: ${message.finish_reason})` : "";
    return h("div", { class: `message role-${role.replace(/[^a-z]/g, "")}` },
      h("div", { class: "role" }, `${role}${finish}`),
      Array.isArray(message?.parts) ? message.parts.map(part) : foldedText(JSON.stringify(message, null, 2), "code"));
  });
}

function messageParts(value: Value | undefined): Node[] {
  const parsed = parseJson(value);
  if (Array.isArray(parsed)) return parsed.map(part);
  return [foldedText(formatValue(value ?? null))];
}

function part(item: Record<string, unknown>): Node {
  if (item?.type === "text" && typeof item.content === "string") return foldedText(item.content);
  if (item?.type === "tool_call") {
    const args = typeof item.arguments === "string" ? item.arguments : JSON.stringify(item.arguments ?? {}, null, 2);
    return h("div", { class: "tool-call" },
      h("div", { class: "muted" }, `tool call ${formatValue((item.name as Value) ?? "")} (${formatValue((item.id as Value) ?? "")})`),
      foldedText(args, "code"));
  }
  if (item?.type === "tool_call_response") {
    const response = typeof item.response === "string" ? item.response : JSON.stringify(item.response, null, 2);
    return h("div", { class: "tool-call" },
      h("div", { class: "muted" }, `tool result for ${formatValue((item.id as Value) ?? "")}`),
      foldedText(response ?? "", "code"));
  }
  return foldedText(JSON.stringify(item, null, 2), "code");
}

/** Where a replayed call's answer came from and whether its output changed, with the original. */
function replaySection(mark: ReplayMark, graph: Graph): HTMLElement {
  const original = graph.replay_of;
  const change = mark.changed === null
    ? `not known${original?.note ? ` (${original.note})` : ""}`
    : mark.changed ? "changed vs the original call" : "the same as the original call";
  return h("dl", { class: `facts replay-facts replay-${mark.source.replace(/[^a-z]/g, "")}${mark.changed ? " changed" : ""}` },
    h("dt", null, "Answer"), h("dd", { "data-replay": mark.source }, REPLAY_SOURCES[mark.source] ?? mark.source),
    h("dt", null, "Output"), h("dd", { "data-changed": String(mark.changed) }, change),
    h("dt", null, "Original call"),
    h("dd", null, mark.original_span_id && original
      ? h("a", { href: runHref(original.run_id, { span: mark.original_span_id }) }, `${mark.original_span_id} in ${original.name ?? original.run_id}`)
      : "none (no recorded call stands for it)"),
  );
}
