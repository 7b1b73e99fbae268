// Hash routes, so that a view (filters included) is a link that survives a reload:
// #/runs?project=x&status=running   #/run/ID?tab=graph&span=ID   #/compare?ids=a,b

export interface Route {
  page: "runs" | "run" | "compare";
  runId: string;
  query: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#/, "") || "/runs";
  // Split at the first "?" only: a hand-typed `?q=why?` keeps its second question mark.
  const mark = hash.indexOf("?");
  const path = mark < 0 ? hash : hash.slice(0, mark);
  const search = mark < 0 ? "" : hash.slice(mark + 1);
  const query = new URLSearchParams(search);
  const parts = path.split("/").filter(Boolean).map(decodeSegment);
  if (parts[0] === "run" && parts[1]) return { page: "run", runId: parts[1], query };
  if (parts[0] === "compare") return { page: "compare", runId: "", query };
  return { page: "runs", runId: "", query };
}

/** A path segment decoded; a malformed escape (`%E0%A4%A` in a pasted link) is kept as typed
 * instead of throwing, which left the app blank. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function runsHref(query: URLSearchParams): string {
  const search = query.toString();
  return search ? `#/runs?${search}` : "#/runs";
}

export function runHref(runId: string, query?: Record<string, string>): string {
  const search = query ? new URLSearchParams(query).toString() : "";
  return `#/run/${encodeURIComponent(runId)}${search ? `?${search}` : ""}`;
}

export function compareHref(runIds: string[]): string {
  return `#/compare?ids=${runIds.map(encodeURIComponent).join(",")}`;
}

/** Change the current route's query without adding a history entry (tab, selection). */
export function replaceQuery(query: URLSearchParams): void {
  const [path] = (location.hash.replace(/^#/, "") || "/runs").split("?", 1);
  const search = query.toString();
  history.replaceState(null, "", `#${path}${search ? `?${search}` : ""}`);
}
