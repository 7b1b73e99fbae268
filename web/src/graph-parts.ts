// The graph's drawn pieces: call nodes (with replay marks), subrun groups and their collapsed
// boxes, and the replay legend. Every label is a text node (see dom.ts), cut and made printable.

import type { Graph, GraphNode, ReplayMark } from "./api";
import { h, svg } from "./dom";
import type { Group } from "./graph-model";
import { formatCount, formatDuration, preview, printable } from "./format";
import type { Box } from "./layout";
import { NODE_HEIGHT, NODE_WIDTH } from "./layout";
import { runHref } from "./router";

const LINE_CHARS = 31;
const GROUP_LABEL_CHARS = 44;

/** What each replay source means, for the legend, the node tooltips and the inspector. */
export const REPLAY_SOURCES: Record<string, string> = {
  served: "served from the recording",
  edited: "edited (the recorded answer with new text)",
  live: "re-executed live (no recording matched)",
};

/** One line on what happened to a replayed call. */
export function replayText(mark: ReplayMark): string {
  const source = REPLAY_SOURCES[mark.source] ?? `answered: ${mark.source}`;
  const change = mark.changed === null ? "change unknown" : mark.changed ? "output changed vs the original" : "same output as the original";
  return `${source}; ${change}`;
}

/** Activate on click, Enter and Space (SVG groups are not buttons). */
function activate(element: SVGElement, action: () => void): void {
  element.addEventListener("click", (event) => { event.stopPropagation(); action(); });
  element.addEventListener("keydown", (event) => {
    const key = (event as KeyboardEvent).key;
    if (key === "Enter" || key === " ") { event.preventDefault(); action(); }
  });
}

export function callNode(node: GraphNode, x: number, y: number, onSelect: (spanId: string) => void): SVGElement {
  const text = node.output_preview || node.input_preview;
  const tokens = node.input_tokens !== null || node.output_tokens !== null ? (node.input_tokens ?? 0) + (node.output_tokens ?? 0) : null;
  const facts = [
    node.duration_s === null ? "not in the runs shown" : formatDuration(node.duration_s),
    tokens !== null ? `${formatCount(tokens)} tok` : null,
    node.failed ? "error" : null,
  ].filter(Boolean).join(" · ");
  const mark = node.replay;
  const classes = [
    "node", `node-${node.kind.replace(/[^a-z]/g, "")}`, node.failed ? "failed" : "",
    mark ? `replay-${mark.source.replace(/[^a-z]/g, "")}` : "", mark?.changed ? "changed" : "",
  ].filter(Boolean).join(" ");
  const element = svg("g", {
      class: classes, "data-span-id": node.span_id, "data-run-id": node.run_id ?? "",
      "data-replay": mark?.source ?? null, "data-changed": mark ? String(mark.changed) : null,
      transform: `translate(${x},${y})`, tabindex: 0, role: "button",
      "aria-label": `${node.kind} ${printable(node.name)}${node.failed ? " (failed)" : ""}${mark ? ` (replay: ${replayText(mark)})` : ""}`,
    },
    svg("title", null, `${printable(node.name)}\n${printable(text)}${mark ? `\nreplay: ${replayText(mark)}` : ""}`),
    svg("rect", { width: NODE_WIDTH, height: NODE_HEIGHT, rx: 6 }),
    svg("text", { x: 10, y: 18, class: "node-title" }, preview(node.name, mark ? LINE_CHARS - 12 : LINE_CHARS - 4)),
    svg("text", { x: 10, y: 34, class: "node-model" }, preview(node.model ?? node.kind, LINE_CHARS)),
    svg("text", { x: 10, y: 50, class: "node-preview" }, preview(text || "(no content captured)", LINE_CHARS)),
    svg("text", { x: 10, y: 66, class: node.failed ? "node-facts error-text" : "node-facts" }, facts),
    mark ? replayBadge(mark) : null,
  );
  activate(element, () => onSelect(node.span_id));
  return element;
}

/** The replay pill at a node's top right: the source, and a "changed" dot. */
function replayBadge(mark: ReplayMark): SVGElement {
  const width = 52;
  return svg("g", { class: "replay-badge", transform: `translate(${NODE_WIDTH - width - 6},5)` },
    svg("rect", { width, height: 15, rx: 7 }),
    svg("text", { x: width / 2, y: 11, "text-anchor": "middle" }, mark.source.slice(0, 8)),
    mark.changed ? svg("circle", { class: "changed-dot", cx: -8, cy: 7.5, r: 5 }) : null,
  );
}

interface GroupControls {
  collapsed: boolean;
  onToggle: () => void;
}

/** A subrun's header: a fold button, and its name and status as a link to the subrun. */
function groupHeader(group: Group, width: number, controls: GroupControls): SVGElement[] {
  const name = group.run.name || group.run.id;
  const verb = controls.collapsed ? "expand" : "collapse";
  const toggle = svg("g", { class: "group-toggle", tabindex: 0, role: "button", "aria-label": `${verb} subrun ${printable(name)}`, "aria-expanded": String(!controls.collapsed) },
    svg("title", null, `${verb} this subrun`),
    svg("rect", { x: 6, y: 5, width: 16, height: 16, rx: 3 }),
    svg("text", { x: 14, y: 17, "text-anchor": "middle" }, controls.collapsed ? "+" : "−"),
  );
  activate(toggle, controls.onToggle);
  const chars = Math.max(8, Math.min(GROUP_LABEL_CHARS, Math.floor((width - 40) / 7)));
  const label = svg("g", { class: "group-label", tabindex: 0, role: "link", "aria-label": `open subrun ${printable(name)} (${group.run.status})` },
    svg("title", null, `${printable(name)} (${group.run.status}) — open this subrun`),
    svg("text", { x: 28, y: 17 }, preview(name, chars - group.run.status.length - 3),
      svg("tspan", { class: `group-status status-${group.run.status.replace(/[^a-z]/g, "")}`, "data-status": group.run.status }, ` · ${group.run.status}`)),
  );
  activate(label, () => { location.hash = runHref(group.run.id); });
  return [toggle, label];
}

/** An expanded subrun: a box around its calls, with its header. */
export function cluster(group: Group, box: Box, controls: GroupControls): SVGElement {
  return svg("g", { class: `group status-${group.run.status.replace(/[^a-z]/g, "")}`, "data-run-id": group.run.id, transform: `translate(${box.x},${box.y})` },
    svg("rect", { class: "group-box", width: box.width, height: box.height, rx: 8 }),
    ...groupHeader(group, box.width, controls),
  );
}

/** A collapsed subrun, laid out like one call. */
export function collapsedBox(group: Group, x: number, y: number, controls: GroupControls): SVGElement {
  const calls = `${formatCount(group.callCount)} call${group.callCount === 1 ? "" : "s"} folded`;
  return svg("g", { class: "group collapsed", "data-run-id": group.run.id, transform: `translate(${x},${y})` },
    svg("rect", { class: "group-box", width: NODE_WIDTH, height: NODE_HEIGHT, rx: 8 }),
    ...groupHeader(group, NODE_WIDTH, controls),
    svg("text", { x: 10, y: 44, class: "node-facts" }, calls),
  );
}

/** The legend of replay marks, with counts, when the graph is a replay's. */
export function replayLegend(graph: Graph): HTMLElement | null {
  const marked = graph.nodes.filter((node) => node.replay);
  if (!marked.length) return null;
  const count = (test: (node: GraphNode) => boolean) => marked.filter(test).length;
  const item = (className: string, label: string, n: number) =>
    h("li", { class: `legend-item ${className}` }, h("span", { class: "swatch", "aria-hidden": "true" }), `${label} (${n})`);
  const original = graph.replay_of;
  return h("div", { class: "replay-legend", role: "note", "aria-label": "replay legend" },
    h("span", null, "Replay",
      original ? [" of ", h("a", { href: runHref(original.run_id) }, original.name ?? original.run_id)] : null, ":"),
    h("ul", null,
      Object.entries(REPLAY_SOURCES).map(([source, label]) =>
        item(`replay-${source}`, label, count((node) => node.replay?.source === source))),
      item("changed", "output changed vs the original", count((node) => node.replay?.changed === true)),
    ),
    original?.note ? h("span", { class: "muted" }, ` (${original.note})`) : null,
  );
}
