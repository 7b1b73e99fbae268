// What the graph draws: the run's calls at the top, each subrun as a group (a dagre cluster)
// holding its calls and its own subruns, and collapsed groups as single boxes.

import type { Graph, GraphEdge, GraphNode, GraphRun } from "./api";
import type { LayoutRequest } from "./layout";

export interface Group {
  id: string; // layout id: "group:<run id>"
  run: GraphRun;
  parent: string | null; // enclosing group's layout id
  /** Calls in this subrun and all its nested subruns. */
  callCount: number;
}

export interface VisibleGraph {
  request: LayoutRequest;
  /** Expanded groups, drawn as clusters, outermost first. */
  clusters: Group[];
  /** Collapsed groups, laid out and drawn like one call. */
  boxes: Group[];
  nodes: GraphNode[];
  /** The edges drawn, in the order of `request.edges`; collapsed ends point at their box. */
  edges: { edge: GraphEdge; from: string; to: string }[];
}

export const groupId = (runId: string): string => `group:${runId}`;

/** The groups of `graph`: every subrun drawn that holds calls. */
export function groupsOf(graph: Graph): Map<string, Group> {
  const root = graph.runs[0]?.id ?? null;
  const shown = new Map(graph.runs.map((run) => [run.id, run]));
  const calls = new Map<string, number>();
  // Runs come level by level, so children precede nothing they contain: add up from the end.
  for (const run of [...graph.runs].reverse()) {
    calls.set(run.id, (calls.get(run.id) ?? 0) + run.node_count);
    if (run.parent_id && run.parent_id !== root && shown.has(run.parent_id)) {
      calls.set(run.parent_id, (calls.get(run.parent_id) ?? 0) + (calls.get(run.id) ?? 0));
    }
  }
  const groups = new Map<string, Group>();
  for (const run of graph.runs) {
    if (run.id === root || !(calls.get(run.id) ?? 0)) continue;
    const parentRun = run.parent_id && run.parent_id !== root && shown.has(run.parent_id) ? run.parent_id : null;
    groups.set(run.id, { id: groupId(run.id), run, parent: parentRun ? groupId(parentRun) : null, callCount: calls.get(run.id) ?? 0 });
  }
  return groups;
}

export function visibleGraph(graph: Graph, collapsed: ReadonlySet<string>): VisibleGraph {
  const groups = groupsOf(graph);
  const byLayoutId = new Map([...groups.values()].map((group) => [group.id, group]));
  /** The outermost collapsed group at or above `group`, if any. */
  const collapsedAbove = (group: Group | undefined): Group | null => {
    let found: Group | null = null;
    for (let current = group, hops = 0; current && hops < 256; current = current.parent ? byLayoutId.get(current.parent) : undefined, hops++) {
      if (collapsed.has(current.run.id)) found = current;
    }
    return found;
  };
  const clusters: Group[] = [];
  const boxes: Group[] = [];
  for (const group of groups.values()) {
    const hidden = collapsedAbove(group);
    if (hidden === null) clusters.push(group);
    else if (hidden === group) boxes.push(group);
  }
  const request: LayoutRequest = {
    nodes: [],
    edges: [],
    groups: clusters.map((group) => ({ id: group.id, parent: group.parent })),
    parents: {},
  };
  const where = new Map<string, string>(); // span id -> the layout id it is drawn as
  const nodes: GraphNode[] = [];
  for (const node of graph.nodes) {
    const owner = node.run_id ? groups.get(node.run_id) : undefined;
    const hidden = collapsedAbove(owner);
    if (hidden) {
      where.set(node.span_id, hidden.id);
      continue;
    }
    where.set(node.span_id, node.span_id);
    nodes.push(node);
    request.nodes.push(node.span_id);
    if (owner) request.parents[node.span_id] = owner.id;
  }
  for (const box of boxes) {
    request.nodes.push(box.id);
    if (box.parent) request.parents[box.id] = box.parent;
  }
  const edges: VisibleGraph["edges"] = [];
  for (const edge of graph.edges) {
    const from = where.get(edge.producer) ?? edge.producer;
    const to = where.get(edge.consumer) ?? edge.consumer;
    if (from === to) continue; // both ends inside one collapsed group
    edges.push({ edge, from, to });
    request.edges.push([from, to]);
  }
  return { request, clusters, boxes, nodes, edges };
}
