// The dataflow graph, laid out left to right by dagre and drawn as SVG with pan and zoom.
// Subruns are groups (dagre clusters) that fold into one box; a replay's calls carry marks.

import type { Graph, GraphEdge } from "./api";
import { h, replace, svg } from "./dom";
import { groupsOf, visibleGraph, type VisibleGraph } from "./graph-model";
import { callNode, cluster, collapsedBox, replayLegend } from "./graph-parts";
import { runHref } from "./router";
import { type Layout, layoutGraph, type LayoutRequest, NODE_HEIGHT, NODE_WIDTH } from "./layout";

/** The layout worker's bundle, named by the build (see build.mjs). */
declare const LAYOUT_WORKER_URL: string;
const MIN_SCALE = 0.05;
const MAX_SCALE = 4;
/** A press that moves less than this is a click, not a pan. */
const CLICK_SLOP_PX = 4;
/** Past this many calls, a graph with subruns opens with every subrun folded: laying out
 * hundreds of clusters takes dagre many seconds, and a folded group unfolds with one click. */
export const AUTO_FOLD_NODES = 300;

export interface Transform {
  x: number;
  y: number;
  scale: number;
}

/** What the user did to the view; kept by the run page so a live refresh redraws in place. */
export interface GraphState {
  transform: Transform | null;
  canvasHeight: string;
  /** Run ids of folded subruns. */
  collapsed: Set<string>;
  /** Whether the first draw's folding (see AUTO_FOLD_NODES) was decided. */
  foldDecided: boolean;
}

export function newGraphState(): GraphState {
  return { transform: null, canvasHeight: "", collapsed: new Set(), foldDecided: false };
}

interface Folds {
  toggle(runId: string): void;
  foldAll(fold: boolean): void;
}

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

export function graphView(graph: Graph, onSelect: (spanId: string) => void, state: GraphState = newGraphState()): GraphView {
  if (!graph.nodes.length) {
    const empty = h("p", { class: "muted empty" }, "This run and its subruns have no LLM calls or steps yet, so the dataflow graph is empty.");
    return { element: empty, ready: Promise.resolve(), highlight: () => {} };
  }
  const element = h("div", { class: "graph" },
    h("p", { class: "muted empty", role: "status" }, `Laying out ${graph.nodes.length} calls…`));
  let selected: string | null = null;
  let drawn: { highlight(spanId: string | null): void } | null = null;
  if (!state.foldDecided) {
    state.foldDecided = true;
    if (graph.nodes.length > AUTO_FOLD_NODES) for (const group of groupsOf(graph).values()) state.collapsed.add(group.run.id);
  }
  const draw = (): Promise<void> => {
    const visible = visibleGraph(graph, state.collapsed);
    return layOut(visible.request).then((layout) => {
      drawn = drawGraph(element, graph, visible, layout, onSelect, state, {
        toggle: (runId) => {
          if (state.collapsed.has(runId)) state.collapsed.delete(runId);
          else state.collapsed.add(runId);
          void draw();
        },
        foldAll: (fold) => {
          state.collapsed.clear();
          if (fold) for (const group of groupsOf(graph).values()) state.collapsed.add(group.run.id);
          void draw();
        },
      });
      drawn.highlight(selected);
    });
  };
  return {
    element,
    ready: draw(),
    highlight: (spanId) => {
      selected = spanId;
      drawn?.highlight(spanId);
    },
  };
}

function drawGraph(
  element: HTMLElement, graph: Graph, visible: VisibleGraph, layout: Layout,
  onSelect: (spanId: string) => void, state: GraphState, folds: Folds,
): { highlight(spanId: string | null): void } {
  const onToggle = folds.toggle;
  const viewport = svg("g", { class: "viewport" });
  const canvas = svg("svg", { class: "graph-canvas", role: "group", "aria-label": "dataflow graph", tabindex: 0 },
    svg("defs", null,
      svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow-head" })),
    ),
    viewport,
  ) as SVGSVGElement;

  for (const group of visible.clusters) {
    const box = layout.groups[group.id];
    if (box) viewport.appendChild(cluster(group, box, { collapsed: false, onToggle: () => onToggle(group.run.id) }));
  }
  const runOf = new Map(graph.nodes.map((node) => [node.span_id, node.run_id]));
  const edgeElements: SVGElement[] = [];
  visible.edges.forEach(({ edge, from, to }, i) => {
    const laid = layout.edges[i];
    const path = laid.points.map((p, j) => `${j ? "L" : "M"} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(" ");
    const crossing = runOf.get(edge.producer) !== runOf.get(edge.consumer);
    const edgeElement = svg("g", {
        class: crossing ? "edge cross-run" : "edge", "data-producer": edge.producer, "data-consumer": edge.consumer,
        "data-from": from, "data-to": to,
      },
      svg("title", null, edgeTitle(edge)),
      svg("path", { d: path, "marker-end": "url(#arrow)" }),
      laid.label
        ? svg("text", { x: laid.label.x, y: laid.label.y - 3, "text-anchor": "middle", class: "edge-label" }, `${edge.how} ${edge.score.toFixed(2)}`)
        : null,
    );
    edgeElements.push(edgeElement);
    viewport.appendChild(edgeElement);
  });
  for (const group of visible.boxes) {
    const laid = layout.nodes[group.id];
    viewport.appendChild(collapsedBox(group, laid.x - NODE_WIDTH / 2, laid.y - NODE_HEIGHT / 2, { collapsed: true, onToggle: () => onToggle(group.run.id) }));
  }
  const nodeElements = new Map<string, SVGElement>();
  for (const node of visible.nodes) {
    const laid = layout.nodes[node.span_id];
    const nodeElement = callNode(node, laid.x - NODE_WIDTH / 2, laid.y - NODE_HEIGHT / 2, onSelect);
    nodeElements.set(node.span_id, nodeElement);
    viewport.appendChild(nodeElement);
  }

  const contentWidth = layout.width;
  const contentHeight = layout.height;
  const restoring = state.transform !== null;
  const transform: Transform = state.transform ?? { x: 0, y: 0, scale: 1 };
  state.transform = transform;
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
  /** The first view: readable text (not below 85%), starting at the left, the canvas no taller
   * than needed; a graph taller than the canvas at that scale is fitted whole instead. */
  const initial = () => {
    const box = canvas.getBoundingClientRect();
    const width = box.width || 800;
    const fitScale = Math.min(width / contentWidth, 1);
    transform.scale = Math.max(fitScale, 0.85);
    const shownHeight = Math.max(contentHeight * transform.scale + 40, 260);
    if (shownHeight < window.innerHeight * 0.68) canvas.style.height = `${shownHeight}px`;
    state.canvasHeight = canvas.style.height;
    const height = canvas.getBoundingClientRect().height || shownHeight;
    // Taller than the view at a readable scale: the bottom would open cut off, so fit instead.
    if (contentHeight * transform.scale > height) {
      fit();
      return;
    }
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
  let pressed: { x: number; y: number; runId: string | null } | null = null;
  canvas.addEventListener("pointerdown", (event) => {
    const pointer = event as PointerEvent;
    const target = pointer.target as Element;
    if (target.closest(".node, .group-toggle, .group-label")) return;
    // A click (not a drag) on a subrun's box opens that subrun, like its label.
    pressed = { x: pointer.clientX, y: pointer.clientY, runId: target.closest(".group")?.getAttribute("data-run-id") ?? null };
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
  canvas.addEventListener("pointerup", (event) => {
    const pointer = event as PointerEvent;
    const still = pressed && Math.hypot(pointer.clientX - pressed.x, pointer.clientY - pressed.y) < CLICK_SLOP_PX;
    if (still && pressed?.runId) location.hash = runHref(pressed.runId);
    drag = null;
    pressed = null;
  });
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
    const control = h("button", { type: "button", title, "aria-label": title }, label);
    control.addEventListener("click", action);
    return control;
  };
  const groups = visible.clusters.length + visible.boxes.length;
  const folded = visible.boxes.length;
  const toolbar = h("div", { class: "graph-toolbar" },
    button("+", "zoom in", () => zoomAt(1.25, ...center())),
    button("−", "zoom out", () => zoomAt(0.8, ...center())),
    button("Fit", "fit the whole graph", fit),
    groups ? button("Fold all", "fold every subrun group", () => folds.foldAll(true)) : null,
    groups ? button("Unfold all", "unfold every subrun group", () => folds.foldAll(false)) : null,
    h("span", { class: "muted graph-summary" },
      `${graph.nodes.length} nodes · ${graph.edges.length} edges` +
      (groups ? ` · ${groups} subrun group${groups === 1 ? "" : "s"}${folded ? ` (${folded} folded)` : ""}` : "") +
      " — drag to pan, wheel or +/− to zoom, Enter on a node to inspect it"),
  );
  const notice = graph.truncated ? h("p", { class: "notice graph-truncated", role: "status" }, graph.truncated.message) : null;
  replace(element, toolbar, replayLegend(graph), notice, canvas);

  const highlight = (spanId: string | null) => {
    for (const [id, node] of nodeElements) node.classList.toggle("selected", id === spanId);
    for (const edge of edgeElements) {
      const related = spanId !== null && (edge.getAttribute("data-producer") === spanId || edge.getAttribute("data-consumer") === spanId);
      edge.classList.toggle("related", related);
    }
  };
  if (restoring) {
    // A redraw (live refresh, a fold): keep where the user had panned and zoomed.
    canvas.style.height = state.canvasHeight;
    apply();
  } else {
    initial();
  }
  return { highlight };
}

function edgeTitle(edge: GraphEdge): string {
  const fields = edge.input_fields.length ? ` into ${edge.input_fields.join(", ")}` : "";
  const from = edge.output_field ? ` from ${edge.output_field}` : "";
  return `${edge.how} (score ${edge.score.toFixed(2)})${from}${fields}`;
}
