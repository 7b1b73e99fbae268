// The runs page: filters kept in the URL, keyset pages, subruns folded under their parent.

import { api, type Run } from "./api";
import { append, h, replace } from "./dom";
import { formatCount, formatCountOf, formatDuration, formatNumber, formatTime, formatValue, printable } from "./format";
import { compareHref, runHref, runsHref } from "./router";
import { statusBadge } from "./widgets";
import type { Page } from "./page";

const FILTERS = ["project", "status", "tag", "q", "started_after", "started_before", "param", "metric"];
const STATUSES = ["running", "completed", "failed", "cancelled", "interrupted"];
const KEY_METRICS_SHOWN = 3;
const LIVE_POLL_MS = 3000;
const CHILD_FETCH_CONCURRENCY = 3;

/** The API query for the page's URL query: the filters as given, top-level runs only. */
export function apiQuery(query: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const [key, value] of query) {
    if ((FILTERS.includes(key) || key === "cursor" || key === "limit") && value) out.append(key, value);
  }
  out.set("top_level", "true");
  return out;
}

export function runsPage(root: HTMLElement, query: URLSearchParams): Page {
  const selected = new Set<string>();
  const openFolds = new Set<string>(); // parents whose subruns are shown, kept across live refreshes
  const compareButton = h("button", { type: "button", class: "primary", disabled: true }, "Compare");
  compareButton.addEventListener("click", () => {
    location.hash = compareHref([...selected]);
  });
  const status = h("p", { class: "muted", role: "status" }, "Loading runs…");
  const table = h("div", { class: "table-wrap" });
  const pager = h("nav", { class: "pager", "aria-label": "pages" });
  replace(
    root,
    h("h1", null, "Runs"),
    filterForm(query),
    h("div", { class: "toolbar" }, compareButton, h("span", { class: "muted" }, "Select two or more runs to compare.")),
    status,
    table,
    pager,
  );

  const onSelect = (runId: string, checked: boolean) => {
    if (checked) selected.add(runId);
    else selected.delete(runId);
    compareButton.disabled = selected.size < 2;
    compareButton.textContent = selected.size >= 2 ? `Compare ${selected.size} runs` : "Compare";
  };

  let timer: number | undefined;
  let stopped = false;
  const load = async (first: boolean) => {
    try {
      const page = await api.listRuns(apiQuery(query));
      if (stopped) return;
      const filtered = FILTERS.some((key) => query.get(key));
      status.textContent = page.runs.length
        ? `${page.runs.length} run${page.runs.length === 1 ? "" : "s"} on this page`
        : filtered
          ? "No run matches these filters."
          : "No runs yet. Record one with `with spanflow.run(...)` and reload.";
      if (first || page.runs.some((r) => r.status === "running") || !sameRows(table, page.runs)) {
        replace(table, page.runs.length ? runsTable(page.runs, selected, onSelect) : null);
        if (page.runs.length) void foldSubruns(table, page.runs, { selected, onSelect, openFolds });
      }
      replace(pager, pagerLinks(query, page.next_cursor));
      if (first) performance.mark("spanflow:runs-rendered"); // read by bench/bench_ui.py
      if (page.runs.some((r) => r.status === "running")) {
        timer = window.setTimeout(() => void load(false), LIVE_POLL_MS);
      }
    } catch (error) {
      if (!stopped) status.textContent = `Could not list runs: ${(error as Error).message}`;
    }
  };
  void load(true);
  return { stop: () => { stopped = true; window.clearTimeout(timer); } };
}

function sameRows(table: HTMLElement, runs: Run[]): boolean {
  const shown = [...table.querySelectorAll("tr[data-run-id]")].map((row) => row.getAttribute("data-run-id"));
  return shown.length === runs.length && runs.every((run, i) => shown[i] === run.id);
}

function filterForm(query: URLSearchParams): HTMLFormElement {
  const field = (label: string, input: HTMLElement) =>
    h("label", { class: "field" }, h("span", null, label), input);
  const text = (name: string, value: string, placeholder = "") =>
    h("input", { name, type: "text", value, placeholder, autocomplete: "off" });
  const statusSelect = h("select", { name: "status" },
    h("option", { value: "" }, "any"),
    STATUSES.map((s) => h("option", { value: s, selected: query.get("status") === s }, s)),
  );
  const date = (name: string) => h("input", { name, type: "date", value: (query.get(name) ?? "").slice(0, 10) });
  const form = h("form", { class: "filters", role: "search" },
    field("Project", text("project", query.get("project") ?? "")),
    field("Status", statusSelect),
    field("Tags", text("tag", query.getAll("tag").join(", "), "all of: a, b")),
    field("Name contains", text("q", query.get("q") ?? "")),
    field("Started after", date("started_after")),
    field("Started before", date("started_before")),
    field("Params", text("param", query.getAll("param").join("; "), "model=gpt-4o; lr>0.01")),
    field("Metrics", text("metric", query.getAll("metric").join("; "), "accuracy>=0.8")),
    h("div", { class: "field actions" },
      h("button", { type: "submit", class: "primary" }, "Apply"),
      h("a", { href: "#/runs", class: "button" }, "Clear"),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = new URLSearchParams();
    const value = (key: string) => String(data.get(key) ?? "").trim();
    for (const key of ["project", "status", "q", "started_after", "started_before"]) {
      if (value(key)) next.set(key, value(key));
    }
    for (const tag of value("tag").split(",")) if (tag.trim()) next.append("tag", tag.trim());
    for (const key of ["param", "metric"]) {
      for (const condition of value(key).split(";")) if (condition.trim()) next.append(key, condition.trim());
    }
    location.hash = runsHref(next);
  });
  return form;
}

function pagerLinks(query: URLSearchParams, nextCursor: string | null): Node[] {
  const links: Node[] = [];
  if (query.get("cursor")) {
    const first = new URLSearchParams(query);
    first.delete("cursor");
    links.push(h("a", { href: runsHref(first), class: "button" }, "« Newest"));
  }
  if (nextCursor) {
    const next = new URLSearchParams(query);
    next.set("cursor", nextCursor);
    links.push(h("a", { href: runsHref(next), class: "button", rel: "next" }, "Older »"));
  }
  return links;
}

type OnSelect = (runId: string, checked: boolean) => void;

function runsTable(runs: Run[], selected: Set<string>, onSelect: OnSelect): HTMLTableElement {
  return h("table", { class: "runs" },
    h("thead", null, h("tr", null,
      ["", "Name", "Project", "Status", "Started", "Duration", "LLM calls", "Tokens", "Key metrics", "Tags"]
        .map((title, i) => h("th", { scope: "col" }, i === 0 ? h("span", { class: "sr-only" }, "Select") : title)),
    )),
    h("tbody", null, runs.map((run) => runRow(run, selected, onSelect, false))),
  );
}

export function runRow(run: Run, selected: Set<string>, onSelect: OnSelect, isChild: boolean): HTMLTableRowElement {
  const checkbox = h("input", { type: "checkbox", checked: selected.has(run.id), "aria-label": `select ${printable(run.name || run.id)}` });
  checkbox.addEventListener("change", () => onSelect(run.id, checkbox.checked));
  const metrics = Object.entries(run.metrics).slice(0, KEY_METRICS_SHOWN);
  return h("tr", { "data-run-id": run.id, class: isChild ? "subrun" : null },
    h("td", null, checkbox),
    h("td", { class: "name" }, h("a", { href: runHref(run.id) }, printable(run.name || run.id))),
    h("td", null, printable(run.project)),
    h("td", null, statusBadge(run.status)),
    h("td", { class: "nowrap" }, formatTime(run.started_at)),
    h("td", { class: "num" }, formatDuration(run.duration_s)),
    h("td", { class: "num" }, formatCount(run.llm_call_count)),
    h("td", { class: "num" }, formatCount(run.input_tokens + run.output_tokens)),
    h("td", { class: "metrics" }, metrics.map(([name, value]) => h("span", { class: "kv" }, `${printable(name)} ${formatNumber(value)}`))),
    h("td", { class: "tags" }, run.tags.map((tag) => h("span", { class: "tag" }, printable(formatValue(tag))))),
  );
}

interface FoldState {
  selected: Set<string>;
  onSelect: OnSelect;
  openFolds: Set<string>;
}

/** Look up each run's subruns in the background and fold them under a toggle row. */
async function foldSubruns(table: HTMLElement, runs: Run[], state: FoldState): Promise<void> {
  const queue = [...runs];
  const worker = async () => {
    for (let run = queue.shift(); run; run = queue.shift()) {
      let children: Run[];
      try {
        children = await api.children(run.id);
      } catch {
        continue; // the row still shows the run itself; only the fold is missing
      }
      const row = table.querySelector(`tr[data-run-id="${CSS.escape(run.id)}"]`);
      if (!children.length || !row || !row.isConnected) continue;
      attachFold(row as HTMLTableRowElement, run.id, children, state);
    }
  };
  await Promise.all(Array.from({ length: CHILD_FETCH_CONCURRENCY }, worker));
}

function attachFold(row: HTMLTableRowElement, runId: string, children: Run[], state: FoldState): void {
  const counts = new Map<string, number>();
  for (const child of children) counts.set(child.status, (counts.get(child.status) ?? 0) + 1);
  const calls = children.reduce((sum, child) => sum + child.llm_call_count, 0);
  const tokens = children.reduce((sum, child) => sum + child.input_tokens + child.output_tokens, 0);
  const summary = `${formatCountOf(children.length, "subrun")}: ` +
    [...counts].map(([status, n]) => `${n} ${status}`).join(", ") +
    ` · ${formatCountOf(calls, "LLM call")} · ${formatCountOf(tokens, "token")}`;
  const toggle = h("button", { type: "button", class: "fold", "aria-expanded": "false" }, `▸ ${summary}`);
  const childRows = children.map((child) => runRow(child, state.selected, state.onSelect, true));
  const show = (open: boolean) => {
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = `${open ? "▾" : "▸"} ${summary}`;
    for (const childRow of childRows) childRow.hidden = !open;
    if (open) state.openFolds.add(runId);
    else state.openFolds.delete(runId);
  };
  show(state.openFolds.has(runId));
  toggle.addEventListener("click", () => show(toggle.getAttribute("aria-expanded") !== "true"));
  append(row.querySelector("td.name") as HTMLElement, [h("div", null, toggle)]);
  row.after(...childRows);
}
