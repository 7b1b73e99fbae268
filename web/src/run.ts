// The run page: header, subrun tree, and the Graph / Trace / Metrics tabs with the inspector.

import { api, type Graph, type Run, type RunDetail, type Span } from "./api";
import { artifactsPanel } from "./artifacts";
import { type Child, h, replace } from "./dom";
import { formatCount, formatCountOf, formatDuration, formatTime, nanosToSeconds, preview, printable } from "./format";
import { graphView, type GraphView, newGraphState } from "./graph";
import { inspector } from "./inspector";
import { metricsView } from "./metrics";
import type { Page } from "./page";
import { replaceQuery, runHref } from "./router";
import { traceView } from "./trace";
import { kvTable, statusBadge } from "./widgets";
import { SPAN_KIND } from "./spans";

const TABS = ["graph", "trace", "metrics"] as const;
type Tab = (typeof TABS)[number];
const LIVE_POLL_MS = 2000;
/** A subrun's name in the subrun list is cut here (the link's title holds all of it). */
const SUBRUN_NAME_CHARS = 80;
/** A big graph takes a while to lay out: poll no more often than this many times its cost. */
const POLL_TO_RENDER_RATIO = 5;

interface RunData {
  detail: RunDetail;
  spans: Span[];
  graph: Graph;
  children: Run[];
}

export function runPage(root: HTMLElement, runId: string, query: URLSearchParams): Page {
  let tab: Tab = (TABS as readonly string[]).includes(query.get("tab") ?? "") ? (query.get("tab") as Tab) : "graph";
  let selectedSpan = query.get("span");
  let data: RunData | null = null;
  let graph: GraphView | null = null;
  let stopped = false;
  let timer: number | undefined;
  let parentName: string | null = null;
  let lastRenderMs = 0;
  /** Pan, zoom and folded subruns: kept across live refreshes of this run's graph. */
  const graphState = newGraphState();
  /** Spans of the subruns whose calls were opened from the graph, by run id. */
  const subrunSpans = new Map<string, Promise<Span[]>>();
  let drawing = 0;

  const header = h("section", { class: "run-header" }, h("p", { class: "muted", role: "status" }, "Loading run…"));
  const subruns = h("section", { class: "subruns" });
  const tabBar = h("div", { class: "tabs", role: "tablist", "aria-label": "run views" });
  const panel = h("section", { class: "tab-panel", role: "tabpanel" });
  const aside = h("aside", { class: "inspector", "aria-label": "call inspector" });
  replace(root, header, subruns, tabBar, h("div", { class: "split" }, panel, aside));

  const saveUrl = () => {
    const next = new URLSearchParams({ tab });
    if (selectedSpan) next.set("span", selectedSpan);
    replaceQuery(next);
  };
  const select = (spanId: string | null) => {
    selectedSpan = spanId;
    saveUrl();
    renderInspector();
    graph?.highlight(spanId);
    for (const row of panel.querySelectorAll("[data-span-id].selected")) row.classList.remove("selected");
    if (spanId) panel.querySelector(`.trace [data-span-id="${CSS.escape(spanId)}"]`)?.classList.add("selected");
  };
  const renderInspector = () => {
    const wanted = selectedSpan;
    const current = data;
    const span = current?.spans.find((s) => s.span_id === wanted);
    if (span && current) {
      aside.hidden = false;
      replace(aside, inspector(span, current.spans, current.graph, select));
      return;
    }
    // A call of a subrun, drawn in this run's graph: its spans come from the subrun.
    const owner = current?.graph.nodes.find((node) => node.span_id === wanted)?.run_id;
    if (!current || !wanted || !owner || owner === runId) {
      aside.hidden = true;
      replace(aside);
      return;
    }
    if (!subrunSpans.has(owner)) subrunSpans.set(owner, api.spans(owner).catch(() => []));
    void subrunSpans.get(owner)!.then((spans) => {
      if (selectedSpan !== wanted || data !== current) return;
      const found = spans.find((s) => s.span_id === wanted);
      aside.hidden = !found;
      if (found) replace(aside, inspector(found, [...current.spans, ...spans], current.graph, select));
      else replace(aside);
    });
  };
  const renderTabs = () => {
    replace(tabBar, TABS.map((name) => {
      const button = h("button", { type: "button", role: "tab", "aria-selected": String(name === tab), id: `tab-${name}` },
        name[0].toUpperCase() + name.slice(1));
      button.addEventListener("click", () => { tab = name; saveUrl(); renderTabs(); renderPanel(); });
      return button;
    }));
  };
  const renderPanel = (refresh = false) => {
    if (!data) return;
    const began = performance.now();
    const attempt = ++drawing;
    if (tab === "graph" && refresh && graph) {
      // A live refresh: draw the new graph off-page and swap it in once laid out, in the
      // user's pan, zoom and folds, with the selection kept.
      const next = graphView(data.graph, select, graphState);
      next.highlight(selectedSpan);
      void next.ready.then(() => {
        if (attempt !== drawing || tab !== "graph") return;
        graph = next;
        next.highlight(selectedSpan); // the user may have chosen another call meanwhile
        replace(panel, next.element);
      });
    } else if (tab === "graph") {
      graph = graphView(data.graph, select, graphState);
      replace(panel, graph.element);
      graph.highlight(selectedSpan);
    } else if (tab === "trace") {
      graph = null;
      replace(panel, traceView(data.spans, select, selectedSpan));
    } else {
      graph = null;
      replace(panel, metricsView([{ run: data.detail.run, history: data.detail.metric_history }]));
    }
    lastRenderMs = performance.now() - began;
  };

  const load = async (first: boolean) => {
    try {
      const [detail, spans, graphData, children] = await Promise.all([
        api.detail(runId), api.spans(runId), api.graph(runId), api.children(runId),
      ]);
      if (detail.run.parent_id && parentName === null) {
        parentName = await api.detail(detail.run.parent_id).then((p) => p.run.name, () => "");
      }
      if (stopped) return;
      const changed = !data || data.spans.length !== spans.length || data.detail.run.status !== detail.run.status ||
        data.graph.nodes.length !== graphData.nodes.length || data.graph.edges.length !== graphData.edges.length ||
        data.graph.runs.map((r) => r.status).join() !== graphData.runs.map((r) => r.status).join();
      data = { detail, spans, graph: graphData, children };
      replace(header, runHeader(detail, spans, graphData));
      replace(subruns, subrunTree(detail.run, children, parentName ?? ""));
      if (first) renderTabs();
      if (first || changed) {
        renderPanel(!first);
        renderInspector(); // only when something changed: a re-render would refold open text
      }
      if (first) {
        const drawn = tab === "graph" && graph ? graph.ready : Promise.resolve();
        void drawn.then(() => performance.mark(`spanflow:${tab}-rendered`)); // bench/bench_ui.py
      }
      if (detail.run.status === "running") {
        const delayMs = Math.max(LIVE_POLL_MS, lastRenderMs * POLL_TO_RENDER_RATIO);
        timer = window.setTimeout(() => void load(false), delayMs);
      }
    } catch (error) {
      if (!stopped) replace(header, h("p", { class: "error", role: "alert" }, `Could not load run ${runId}: ${(error as Error).message}`));
    }
  };
  void load(true);
  return { stop: () => { stopped = true; window.clearTimeout(timer); } };
}

function runHeader(detail: RunDetail, spans: Span[], graph: Graph): Child[] {
  const run = detail.run;
  const finals = Object.entries(run.metrics) as [string, number | string][];
  return [
    h("div", { class: "title-row" },
      h("h1", null, printable(run.name || run.id)),
      statusBadge(run.status),
      h("span", { class: "muted" }, `${run.project} · ${run.id}`),
    ),
    run.error_type || run.error_message
      ? h("p", { class: "error", role: "alert" }, `${run.error_type ?? "error"}: ${run.error_message ?? ""}`)
      : null,
    h("dl", { class: "facts" },
      fact("Started", formatTime(run.started_at)),
      fact("Ended", run.status === "running" ? "still running" : formatTime(run.ended_at)),
      fact("Duration", formatDuration(run.duration_s)),
      fact("LLM calls (this run)", formatCount(run.llm_call_count)),
      subrunCallsFact(graph),
      fact("Tokens", `${formatCount(run.input_tokens)} in · ${formatCount(run.output_tokens)} out`),
      fact("Spans", `${formatCount(run.span_count)} (${formatCountOf(run.error_count, "error")})`),
      fact("Tags", run.tags.length ? run.tags.join(", ") : "none"),
    ),
    h("div", { class: "columns" },
      h("div", null, h("h2", null, "Params"), kvTable(Object.entries(run.params), "no params")),
      h("div", null, h("h2", null, "Final metrics"), kvTable(finals, "no metrics")),
      h("div", null, h("h2", null, "Outputs"), kvTable(Object.entries(run.outputs), "no outputs")),
    ),
    artifactsPanel(run),
    segments(run, spans),
  ];
}

function fact(term: string, value: string): Node[] {
  return [h("dt", null, term), h("dd", null, value)];
}

/** The LLM calls of the run with the subruns its graph draws (their counts come with the graph,
 * so this costs no request); nothing for a run without subruns or an older collector. */
function subrunCallsFact(graph: Graph): Node[] {
  const subruns = graph.runs.length - 1;
  if (subruns < 1 || graph.runs.some((r) => typeof r.llm_call_count !== "number")) return [];
  const total = graph.runs.reduce((sum, r) => sum + (r.llm_call_count ?? 0), 0);
  const which = graph.truncated ? `the ${subruns} subruns shown` : `${subruns} subrun${subruns === 1 ? "" : "s"}`;
  return fact(`LLM calls (with ${which})`, formatCount(total));
}

/** One line per run segment (a resumed run has several root spans). */
function segments(run: Run, spans: Span[]): HTMLElement | null {
  if (run.segment_count <= 1) return null;
  const roots = spans
    .filter((s) => s.attributes[SPAN_KIND] === "run")
    .sort((a, b) => a.start_time_unix_nano - b.start_time_unix_nano);
  return h("div", null,
    h("h2", null, `Segments (${run.segment_count})`),
    h("ol", { class: "segments" }, roots.map((root) =>
      h("li", null, `${formatDuration(nanosToSeconds(root.start_time_unix_nano, root.end_time_unix_nano))}` +
        (root.status_code === 2 ? ` · failed: ${root.status_message}` : "")),
    )),
  );
}

function subrunTree(run: Run, children: Run[], parentName: string): Child[] {
  if (!run.parent_id && !children.length) return [];
  return [
    children.length ? h("h2", null, "Subruns") : null,
    run.parent_id
      ? h("p", null, "Subrun of ", h("a", { href: runHref(run.parent_id) }, printable(parentName || run.parent_id)))
      : null,
    children.length
      ? h("ul", { class: "subrun-list" }, children.map((child) =>
          // One line: a long name ends in an ellipsis (the title holds all of it), so the
          // status badge stays beside it.
          h("li", null, h("a", { class: "subrun-name", href: runHref(child.id), title: printable(child.name || child.id) }, preview(child.name || child.id, SUBRUN_NAME_CHARS)), " ", statusBadge(child.status),
            h("span", { class: "muted" }, ` ${formatDuration(child.duration_s)} · ${formatCountOf(child.llm_call_count, "LLM call")}`))))
      : null,
  ];
}
