// The dataflow graph's layout (dagre, left to right), shared by the layout worker and the
// in-page fallback. Plain data in and out, so it can cross postMessage.

import * as dagre from "@dagrejs/dagre";

export const NODE_WIDTH = 220;
export const NODE_HEIGHT = 74;
const EDGE_LABEL_WIDTH = 96;

export interface LayoutRequest {
  nodes: string[];
  edges: [string, string][];
}

export interface Point {
  x: number;
  y: number;
}

export interface Layout {
  nodes: Record<string, Point>;
  edges: { points: Point[]; label: Point | null }[];
  width: number;
  height: number;
}

export function layoutGraph(request: LayoutRequest): Layout {
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 56, edgesep: 12, marginx: 20, marginy: 20 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const id of request.nodes) graph.setNode(id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  request.edges.forEach(([producer, consumer], i) =>
    graph.setEdge(producer, consumer, { width: EDGE_LABEL_WIDTH, height: 14, labelpos: "c" }, String(i)),
  );
  dagre.layout(graph);
  const nodes: Record<string, Point> = {};
  for (const id of request.nodes) {
    const laid = graph.node(id);
    nodes[id] = { x: laid.x, y: laid.y };
  }
  const edges = request.edges.map(([v, w], i) => {
    const laid = graph.edge({ v, w, name: String(i) });
    const points: Point[] = (laid?.points ?? []).map((p: Point) => ({ x: p.x, y: p.y }));
    const label = laid && laid.x !== undefined ? { x: laid.x as number, y: laid.y as number } : null;
    return { points, label };
  });
  const size = graph.graph() as { width?: number; height?: number };
  return { nodes, edges, width: size.width ?? NODE_WIDTH, height: size.height ?? NODE_HEIGHT };
}
