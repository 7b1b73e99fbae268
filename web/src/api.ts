// The one typed client of the query API: same-origin relative URLs, the user's token if given,
// and every page of a paginated answer followed when the API returns a cursor.

export type Value = string | number | boolean | Value[] | null;

export interface Run {
  id: string;
  project: string;
  name: string;
  status: string;
  start_time_unix_nano: number;
  end_time_unix_nano: number | null;
  started_at: string | null;
  ended_at: string | null;
  duration_s: number | null;
  parent_id: string | null;
  tags: string[];
  params: Record<string, Value>;
  metrics: Record<string, number | string>;
  outputs: Record<string, Value>;
  attributes: Record<string, Value>;
  error_type: string | null;
  error_message: string | null;
  span_count: number;
  llm_call_count: number;
  error_count: number;
  input_tokens: number;
  output_tokens: number;
  segment_count: number;
  trace_ids: string[];
  artifacts?: Record<string, ArtifactFacts>;
}

/** One artifact of a run, as the run JSON holds it (`stored`: the index has its content). */
export interface ArtifactFacts {
  size?: number;
  sha256?: string;
  media_type?: string;
  path?: string;
  stored?: boolean;
}

export interface RunPage {
  runs: Run[];
  next_cursor: string | null;
}

export interface MetricPoint {
  name: string;
  value: number | string;
  step: number | null;
  time_unix_nano: number;
}

export interface RunDetail {
  run: Run;
  metric_history: MetricPoint[];
  children: string[];
}

export interface Span {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  kind: number | string;
  start_time_unix_nano: number;
  end_time_unix_nano: number;
  attributes: Record<string, Value>;
  events: { name: string; time_unix_nano: number; attributes: Record<string, Value> }[];
  links: { trace_id: string; span_id: string; attributes: Record<string, Value> }[];
  status_code: number;
  status_message: string;
}

/** Where a replayed call's answer came from, and whether its output differs from the original. */
export interface ReplayMark {
  source: "served" | "edited" | "live" | string;
  original_span_id: string | null;
  /** null: not known (the original run is missing or too large to compare). */
  changed: boolean | null;
}

export interface GraphNode {
  span_id: string;
  name: string;
  kind: string;
  model: string | null;
  input_preview: string;
  output_preview: string;
  /** The run (the page's run or one of its subruns) the call belongs to; null for a producer
   * outside the runs drawn. */
  run_id: string | null;
  run_name: string | null;
  duration_s: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  failed: boolean;
  replay: ReplayMark | null;
}

export interface GraphEdge {
  producer: string;
  consumer: string;
  how: string;
  score: number;
  input_fields: string[];
  output_field: string;
}

export interface GraphRun {
  id: string;
  name: string;
  status: string;
  parent_id: string | null;
  node_count: number;
  /** The run's own LLM calls (absent from collectors older than this field). */
  llm_call_count?: number;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** The runs drawn: the page's run first, then its subruns level by level. */
  runs: GraphRun[];
  /** Set when subruns were left out to keep the graph within the API's cap. */
  truncated: { reason: string; subruns_shown: number; message: string } | null;
  replay_of: { run_id: string; name: string | null; changes_known: boolean; note: string | null } | null;
}

export interface ValueDiff {
  key: string;
  values: (Value | undefined)[];
  differs: boolean;
}

export interface Comparison {
  runs: Run[];
  params: ValueDiff[];
  metrics: ValueDiff[];
  outputs: ValueDiff[];
}

const TOKEN_KEY = "spanflow.token";
/** Dispatched on `window` when the API answers 401: the app then asks for the token. */
export const UNAUTHORIZED_EVENT = "spanflow:unauthorized";
/** Upper bound on pages followed for one answer, so a cursor loop cannot hang the page. */
const MAX_PAGES = 200;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function setToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

async function getJson<T>(path: string, query?: URLSearchParams): Promise<T> {
  const search = query && query.toString() ? `?${query.toString()}` : "";
  const headers: Record<string, string> = { accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`api/${path}${search}`, { headers, credentials: "same-origin" });
  if (response.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && typeof body.message === "string") message = body.message;
    } catch {
      // not JSON: the status line says enough
    }
    throw new ApiError(response.status, message);
  }
  return (await response.json()) as T;
}

/** Every item of a list endpoint, following `next_cursor` while the API returns one. */
async function allPages<T>(path: string, key: string, query = new URLSearchParams()): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const pageQuery = new URLSearchParams(query);
    if (cursor) pageQuery.set("cursor", cursor);
    const body = await getJson<Record<string, unknown>>(path, pageQuery);
    items.push(...((body[key] as T[]) ?? []));
    cursor = typeof body.next_cursor === "string" && body.next_cursor ? body.next_cursor : null;
    if (!cursor) return items;
  }
  throw new ApiError(0, `more than ${MAX_PAGES} pages from ${path}`);
}

/** A binary answer (an artifact's bytes) as a Blob; errors as `getJson` reports them. */
async function getBlob(path: string, query: URLSearchParams): Promise<Blob> {
  const headers: Record<string, string> = { accept: "application/octet-stream" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`api/${path}?${query.toString()}`, { headers, credentials: "same-origin" });
  if (response.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    const message = body && typeof body.message === "string" ? body.message : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return response.blob();
}

const run = (id: string) => `v1/runs/${encodeURIComponent(id)}`;

/** A graph with the fields an older collector leaves out filled in (no groups, no marks). */
function withDefaults(graph: Graph): Graph {
  return {
    nodes: graph.nodes.map((node) => ({
      ...node,
      run_id: node.run_id ?? null, run_name: node.run_name ?? null, duration_s: node.duration_s ?? null,
      input_tokens: node.input_tokens ?? null, output_tokens: node.output_tokens ?? null,
      failed: node.failed ?? false, replay: node.replay ?? null,
    })),
    edges: graph.edges,
    runs: graph.runs ?? [],
    truncated: graph.truncated ?? null,
    replay_of: graph.replay_of ?? null,
  };
}

export const api = {
  listRuns: (query: URLSearchParams) => getJson<RunPage>("v1/runs", query),
  children: (id: string) =>
    allPages<Run>(`${run(id)}/children`, "runs", new URLSearchParams({ limit: "500" })),
  detail: (id: string) => getJson<RunDetail>(run(id)),
  spans: (id: string) => allPages<Span>(`${run(id)}/spans`, "spans"),
  graph: (id: string) => getJson<Graph>(`${run(id)}/graph`, new URLSearchParams({ subruns: "true" })).then(
    withDefaults,
    // A collector older than `subruns` answers 400 to it: draw the run's own graph instead.
    (error: unknown) => {
      if (error instanceof ApiError && error.status === 400) return getJson<Graph>(`${run(id)}/graph`).then(withDefaults);
      throw error;
    },
  ),
  artifactContent: (id: string, name: string) =>
    getBlob(`${run(id)}/artifacts/content`, new URLSearchParams({ name })),
  compare: (ids: string[]) =>
    getJson<Comparison>("v1/runs/compare", new URLSearchParams({ ids: ids.join(",") })),
};
