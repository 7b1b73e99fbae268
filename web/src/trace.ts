// The trace tab: the run's spans as a collapsible waterfall, errors highlighted.

import type { Span } from "./api";
import { h } from "./dom";
import { formatDuration } from "./format";
import { isError, isMarker, latencySeconds, model, spanKind } from "./spans";

interface TraceNode {
  span: Span;
  children: TraceNode[];
}

export function traceView(allSpans: Span[], onSelect: (spanId: string) => void, selected: string | null): HTMLElement {
  const spans = allSpans.filter((span) => !isMarker(span));
  if (!spans.length) return h("p", { class: "muted empty" }, "No spans recorded for this run yet.");
  const roots = buildTree(spans);
  const start = Math.min(...spans.map((s) => s.start_time_unix_nano));
  const end = Math.max(...spans.map((s) => s.end_time_unix_nano));
  const total = Math.max(end - start, 1);

  const rows = h("div", { class: "trace", role: "tree", "aria-label": "span tree" });
  const rowOf = new Map<TraceNode, HTMLElement>();
  const collapsed = new Set<TraceNode>();
  const show = (node: TraceNode, visible: boolean) => {
    (rowOf.get(node) as HTMLElement).hidden = !visible;
    for (const child of node.children) show(child, visible && !collapsed.has(node));
  };
  const addRows = (node: TraceNode, depth: number) => {
    const span = node.span;
    const left = ((span.start_time_unix_nano - start) / total) * 100;
    const width = Math.max(((span.end_time_unix_nano - span.start_time_unix_nano) / total) * 100, 0.3);
    const bar = h("div", { class: "bar" });
    bar.style.left = `${left}%`;
    bar.style.width = `${width}%`;
    const toggle = node.children.length
      ? h("button", { type: "button", class: "fold", "aria-expanded": "true", "aria-label": `collapse ${span.name}` }, "▾")
      : h("span", { class: "fold-spacer" });
    const label = h("button", { type: "button", class: "span-name" }, span.name);
    label.addEventListener("click", () => onSelect(span.span_id));
    const name = h("div", { class: "trace-name" }, toggle, label, h("span", { class: "muted" }, ` ${model(span) ?? spanKind(span)}`));
    name.style.paddingLeft = `${depth * 14}px`;
    const row = h("div", {
        class: `trace-row${isError(span) ? " failed" : ""}${span.span_id === selected ? " selected" : ""}`,
        role: "treeitem", "data-span-id": span.span_id, "aria-level": depth + 1,
      },
      name,
      h("div", { class: "trace-track" }, bar),
      h("div", { class: "trace-duration" }, formatDuration(latencySeconds(span)), isError(span) ? h("span", { class: "error-text" }, " error") : null),
    );
    rows.appendChild(row);
    rowOf.set(node, row);
    toggle.addEventListener("click", () => {
      const open = collapsed.has(node);
      if (open) collapsed.delete(node);
      else collapsed.add(node);
      toggle.setAttribute("aria-expanded", String(open));
      toggle.setAttribute("aria-label", `${open ? "collapse" : "expand"} ${span.name}`);
      toggle.textContent = open ? "▾" : "▸";
      show(node, !row.hidden);
    });
    for (const child of node.children) addRows(child, depth + 1);
  };
  for (const root of roots) addRows(root, 0);
  return h("div", null, h("p", { class: "muted" }, `${spans.length} spans over ${formatDuration(total / 1e9)}`), rows);
}

function buildTree(spans: Span[]): TraceNode[] {
  const nodes = new Map(spans.map((span) => [span.span_id, { span, children: [] as TraceNode[] }]));
  const roots: TraceNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.span.parent_span_id ? nodes.get(node.span.parent_span_id) : undefined;
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  const byStart = (a: TraceNode, b: TraceNode) => a.span.start_time_unix_nano - b.span.start_time_unix_nano;
  for (const node of nodes.values()) node.children.sort(byStart);
  return roots.sort(byStart);
}
