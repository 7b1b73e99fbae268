// The dataflow graph's layout (dagre, left to right), shared by the layout worker and the
// in-page fallback. Plain data in and out, so it can cross postMessage. Subruns are dagre
// compound nodes (clusters): dagre places each subrun's calls together and sizes its box.

import * as dagre from "@dagrejs/dagre";

export const NODE_WIDTH = 220;
export const NODE_HEIGHT = 74;
const EDGE_LABEL_WIDTH = 96;
/** Room between clusters, and inside a cluster above its calls, for the cluster's label. */
const GROUP_NODESEP = 44;

export interface LayoutRequest {
  nodes: string[];
  edges: [string, string][];
  /** Cluster ids with their enclosing cluster (null at the top). */
  groups: { id: string; parent: string | null }[];
  /** Node id -> the cluster holding it. */
  parents: Record<string, string>;
}

export interface Point {
  x: number;
  y: number;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Layout {
  nodes: Record<string, Point>;
  edges: { points: Point[]; label: Point | null }[];
  /** Each cluster's box (top-left corner and size). */
  groups: Record<string, Box>;
  width: number;
  height: number;
}

export function layoutGraph(request: LayoutRequest): Layout {
  if (!request.groups.length) return runDagre(request, false);
  try {
    return runDagre(request, true);
  } catch {
    // dagre's compound layout can fail on unusual nesting: lay the calls out flat and draw
    // each cluster around its calls, so the page still shows the graph.
    return withBoundingGroups(runDagre(request, false), request);
  }
}

function runDagre(request: LayoutRequest, compound: boolean): Layout {
  const graph = new dagre.graphlib.Graph({ multigraph: true, compound });
  const nodesep = compound ? GROUP_NODESEP : 24;
  graph.setGraph({ rankdir: "LR", nodesep, ranksep: 56, edgesep: 12, marginx: 20, marginy: 30 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const id of request.nodes) graph.setNode(id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  if (compound) {
    for (const group of request.groups) graph.setNode(group.id, {});
    for (const group of request.groups) if (group.parent) graph.setParent(group.id, group.parent);
    for (const [id, parent] of Object.entries(request.parents)) graph.setParent(id, parent);
  }
  request.edges.forEach(([producer, consumer], i) =>
    graph.setEdge(producer, consumer, { width: EDGE_LABEL_WIDTH, height: 14, labelpos: "c" }, String(i)),
  );
  dagre.layout(graph);
  const nodes: Record<string, Point> = {};
  for (const id of request.nodes) {
    const laid = graph.node(id);
    nodes[id] = { x: laid.x, y: laid.y };
  }
  const groups: Record<string, Box> = {};
  if (compound) {
    for (const { id } of request.groups) {
      const laid = graph.node(id) as { x: number; y: number; width: number; height: number };
      groups[id] = { x: laid.x - laid.width / 2, y: laid.y - laid.height / 2, width: laid.width, height: laid.height };
    }
  }
  const edges = request.edges.map(([v, w], i) => {
    const laid = graph.edge({ v, w, name: String(i) });
    const points: Point[] = (laid?.points ?? []).map((p: Point) => ({ x: p.x, y: p.y }));
    const label = laid && laid.x !== undefined ? { x: laid.x as number, y: laid.y as number } : null;
    return { points, label };
  });
  const size = graph.graph() as { width?: number; height?: number };
  return { nodes, edges, groups, width: size.width ?? NODE_WIDTH, height: size.height ?? NODE_HEIGHT };
}

/** Cluster boxes drawn around their calls (and inner clusters) when dagre could not nest them. */
function withBoundingGroups(layout: Layout, request: LayoutRequest): Layout {
  const pad = 16;
  const depth = (id: string): number => {
    let count = 0;
    for (let group = request.groups.find((g) => g.id === id); group?.parent && count < 64; count++) {
      group = request.groups.find((g) => g.id === group?.parent);
    }
    return count;
  };
  const deepestFirst = [...request.groups].sort((a, b) => depth(b.id) - depth(a.id));
  for (const group of deepestFirst) {
    const boxes: Box[] = Object.entries(request.parents)
      .filter(([, parent]) => parent === group.id)
      .map(([id]) => ({ x: layout.nodes[id].x - NODE_WIDTH / 2, y: layout.nodes[id].y - NODE_HEIGHT / 2, width: NODE_WIDTH, height: NODE_HEIGHT }));
    for (const inner of request.groups) if (inner.parent === group.id && layout.groups[inner.id]) boxes.push(layout.groups[inner.id]);
    if (!boxes.length) continue;
    const left = Math.min(...boxes.map((b) => b.x)) - pad;
    const top = Math.min(...boxes.map((b) => b.y)) - pad - 18;
    const right = Math.max(...boxes.map((b) => b.x + b.width)) + pad;
    const bottom = Math.max(...boxes.map((b) => b.y + b.height)) + pad;
    layout.groups[group.id] = { x: left, y: top, width: right - left, height: bottom - top };
  }
  return layout;
}
