// The dataflow graph, laid out left to right by dagre and drawn as SVG with pan and zoom.

import type { Graph, GraphEdge, Span } from "./api";
import { h, replace, svg } from "./dom";
import { formatCount, formatDuration, preview } from "./format";
import { type Layout, layoutGraph, type LayoutRequest, NODE_HEIGHT, NODE_WIDTH } from "./layout";
import { isError, latencySeconds, tokens } from "./spans";

/** The layout worker's bundle, named by the build (see build.mjs). */
declare const LAYOUT_WORKER_URL: string;
const LINE_CHARS = 31;
const MIN_SCALE = 0.05;
const MAX_SCALE = 4;

export interface GraphView {
  element: HTMLElement;
  /** Settles once the graph is laid out and drawn. */
  ready: Promise<void>;
  highlight(spanId: string | null): void;
}

/** Lay out in a worker (the page stays responsive); in the page if workers are unavailable. */
function layOut(request: LayoutRequest): Promise<Layout> {
  let worker: Worker;
  try {
    worker = new Worker(LAYOUT_WORKER_URL, { type: "module" });
  } catch {
    return Promise.resolve(layoutGraph(request));
  }
  return new Promise((resolve) => {
    worker.onmessage = (event: MessageEvent<Layout>) => {
      worker.terminate();
      resolve(event.data);
    };
    worker.onerror = () => {
      worker.terminate();
      resolve(layoutGraph(request));
    };
    worker.postMessage(request);
  });
}

interface Transform {
  x: number;
  y: number;
  scale: number;
}

export function graphView(graph: Graph, spans: Span[], onSelect: (spanId: string) => void): GraphView {
  if (!graph.nodes.length) {
    const empty = h("p", { class: "muted empty" }, "This run has no LLM calls or steps yet, so its dataflow graph is empty.");
    return { element: empty, ready: Promise.resolve(), highlight: () => {} };
  }
  const element = h("div", { class: "graph" },
    h("p", { class: "muted empty", role: "status" }, `Laying out ${graph.nodes.length} calls…`));
  let drawn: { highlight(spanId: string | null): void } | null = null;
  let pendingHighlight: string | null = null;
  const request: LayoutRequest = {
    nodes: graph.nodes.map((node) => node.span_id),
    edges: graph.edges.map((edge) => [edge.producer, edge.consumer]),
  };
  const ready = layOut(request).then((layout) => {
    drawn = drawGraph(element, graph, spans, layout, onSelect);
    drawn.highlight(pendingHighlight);
  });
  return {
    element,
    ready,
    highlight: (spanId) => (drawn ? drawn.highlight(spanId) : (pendingHighlight = spanId)),
  };
}

function drawGraph(
  element: HTMLElement, graph: Graph, spans: Span[], layout: Layout, onSelect: (spanId: string) => void,
): { highlight(spanId: string | null): void } {
  const spansById = new Map(spans.map((span) => [span.span_id, span]));

  const viewport = svg("g", { class: "viewport" });
  const canvas = svg("svg", { class: "graph-canvas", role: "group", "aria-label": "dataflow graph", tabindex: 0 },
    svg("defs", null,
      svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow-head" })),
    ),
    viewport,
  ) as SVGSVGElement;

  const edgeElements: SVGElement[] = [];
  graph.edges.forEach((edge, i) => {
    const laid = layout.edges[i].label;
    const points = layout.edges[i].points;
    const path = points.map((p, j) => `${j ? "L" : "M"} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(" ");
    const element = svg("g", { class: "edge", "data-producer": edge.producer, "data-consumer": edge.consumer },
      svg("title", null, edgeTitle(edge)),
      svg("path", { d: path, "marker-end": "url(#arrow)" }),
      laid
        ? svg("text", { x: laid.x, y: laid.y - 3, "text-anchor": "middle", class: "edge-label" }, `${edge.how} ${edge.score.toFixed(2)}`)
        : null,
    );
    edgeElements.push(element);
    viewport.appendChild(element);
  });

  const nodeElements = new Map<string, SVGElement>();
  for (const node of graph.nodes) {
    const laid = layout.nodes[node.span_id];
    const span = spansById.get(node.span_id);
    const x = laid.x - NODE_WIDTH / 2;
    const y = laid.y - NODE_HEIGHT / 2;
    const failed = span ? isError(span) : false;
    const text = node.kind === "llm" ? node.output_preview || node.input_preview : node.output_preview || node.input_preview;
    const usage = span ? tokens(span) : { input: null, output: null };
    const facts = [
      span ? formatDuration(latencySeconds(span)) : "not in this run",
      usage.input !== null || usage.output !== null ? `${formatCount((usage.input ?? 0) + (usage.output ?? 0))} tok` : null,
      failed ? "error" : null,
    ].filter(Boolean).join(" · ");
    const element = svg("g", {
        class: `node node-${node.kind.replace(/[^a-z]/g, "")}${failed ? " failed" : ""}`,
        "data-span-id": node.span_id, transform: `translate(${x},${y})`, tabindex: 0, role: "button",
        "aria-label": `${node.kind} ${node.name}${failed ? " (failed)" : ""}`,
      },
      svg("title", null, `${node.name}\n${text}`),
      svg("rect", { width: NODE_WIDTH, height: NODE_HEIGHT, rx: 6 }),
      svg("text", { x: 10, y: 18, class: "node-title" }, preview(node.name, LINE_CHARS - 4)),
      svg("text", { x: 10, y: 34, class: "node-model" }, preview(node.model ?? node.kind, LINE_CHARS)),
      svg("text", { x: 10, y: 50, class: "node-preview" }, preview(text || "(no content captured)", LINE_CHARS)),
      svg("text", { x: 10, y: 66, class: failed ? "node-facts error-text" : "node-facts" }, facts),
    );
    const choose = () => onSelect(node.span_id);
    element.addEventListener("click", choose);
    element.addEventListener("keydown", (event) => {
      const key = (event as KeyboardEvent).key;
      if (key === "Enter" || key === " ") { event.preventDefault(); choose(); }
    });
    nodeElements.set(node.span_id, element);
    viewport.appendChild(element);
  }

  const contentWidth = layout.width;
  const contentHeight = layout.height;
  const transform: Transform = { x: 0, y: 0, scale: 1 };
  const apply = () => viewport.setAttribute("transform", `translate(${transform.x},${transform.y}) scale(${transform.scale})`);
  const zoomAt = (factor: number, cx: number, cy: number) => {
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, transform.scale * factor));
    transform.x = cx - ((cx - transform.x) * scale) / transform.scale;
    transform.y = cy - ((cy - transform.y) * scale) / transform.scale;
    transform.scale = scale;
    apply();
  };
  const fit = () => {
    const box = canvas.getBoundingClientRect();
    const width = box.width || 800;
    const height = box.height || 500;
    transform.scale = Math.min(1, Math.max(MIN_SCALE, Math.min(width / contentWidth, height / contentHeight)));
    transform.x = (width - contentWidth * transform.scale) / 2;
    transform.y = (height - contentHeight * transform.scale) / 2;
    apply();
  };
  /** The first view: readable text (not below 85%), starting at the left, the canvas no taller than needed. */
  const initial = () => {
    const box = canvas.getBoundingClientRect();
    const width = box.width || 800;
    const fitScale = Math.min(width / contentWidth, 1);
    transform.scale = Math.max(fitScale, 0.85);
    const shownHeight = Math.max(contentHeight * transform.scale + 40, 260);
    if (shownHeight < window.innerHeight * 0.68) canvas.style.height = `${shownHeight}px`;
    const height = canvas.getBoundingClientRect().height || shownHeight;
    transform.x = contentWidth * transform.scale < width ? (width - contentWidth * transform.scale) / 2 : 10;
    transform.y = Math.max((height - contentHeight * transform.scale) / 2, 0);
    apply();
  };
  const center = () => { const box = canvas.getBoundingClientRect(); return [box.width / 2, box.height / 2] as const; };

  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = canvas.getBoundingClientRect();
    const wheel = event as WheelEvent;
    zoomAt(Math.exp(-wheel.deltaY * 0.0015), wheel.clientX - box.left, wheel.clientY - box.top);
  }, { passive: false });
  let drag: { x: number; y: number } | null = null;
  canvas.addEventListener("pointerdown", (event) => {
    const pointer = event as PointerEvent;
    if ((pointer.target as Element).closest(".node")) return;
    drag = { x: pointer.clientX - transform.x, y: pointer.clientY - transform.y };
    canvas.setPointerCapture(pointer.pointerId);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const pointer = event as PointerEvent;
    transform.x = pointer.clientX - drag.x;
    transform.y = pointer.clientY - drag.y;
    apply();
  });
  canvas.addEventListener("pointerup", () => { drag = null; });
  canvas.addEventListener("keydown", (event) => {
    const key = (event as KeyboardEvent).key;
    const step = 60;
    const moves: Record<string, () => void> = {
      "+": () => zoomAt(1.25, ...center()), "=": () => zoomAt(1.25, ...center()), "-": () => zoomAt(0.8, ...center()),
      ArrowLeft: () => { transform.x += step; apply(); }, ArrowRight: () => { transform.x -= step; apply(); },
      ArrowUp: () => { transform.y += step; apply(); }, ArrowDown: () => { transform.y -= step; apply(); },
      "0": fit,
    };
    if (event.target === canvas && moves[key]) { event.preventDefault(); moves[key](); }
  });

  const button = (label: string, title: string, action: () => void) => {
    const element = h("button", { type: "button", title, "aria-label": title }, label);
    element.addEventListener("click", action);
    return element;
  };
  const toolbar = h("div", { class: "graph-toolbar" },
    button("+", "zoom in", () => zoomAt(1.25, ...center())),
    button("−", "zoom out", () => zoomAt(0.8, ...center())),
    button("Fit", "fit the whole graph", fit),
    h("span", { class: "muted" },
      `${graph.nodes.length} nodes · ${graph.edges.length} edges — drag to pan, wheel or +/− to zoom, Enter on a node to inspect it`),
  );
  replace(element, toolbar, canvas);

  const highlight = (spanId: string | null) => {
    for (const [id, node] of nodeElements) node.classList.toggle("selected", id === spanId);
    for (const edge of edgeElements) {
      const related = spanId !== null && (edge.getAttribute("data-producer") === spanId || edge.getAttribute("data-consumer") === spanId);
      edge.classList.toggle("related", related);
    }
  };
  initial();
  return { highlight };
}

function edgeTitle(edge: GraphEdge): string {
  const fields = edge.input_fields.length ? ` into ${edge.input_fields.join(", ")}` : "";
  const from = edge.output_field ? ` from ${edge.output_field}` : "";
  return `${edge.how} (score ${edge.score.toFixed(2)})${from}${fields}`;
}
