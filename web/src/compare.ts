// The compare page: params diff, metric deltas, outputs side by side, samples paired by name.

import { api, type Run, type ValueDiff } from "./api";
import { h, replace } from "./dom";
import { formatNumber, formatValue, printable } from "./format";
import { metricsView } from "./metrics";
import type { Page } from "./page";
import { runHref } from "./router";
import { foldedText, statusBadge } from "./widgets";

export function comparePage(root: HTMLElement, query: URLSearchParams): Page {
  const ids = (query.get("ids") ?? "").split(",").map((id) => id.trim()).filter(Boolean);
  const status = h("p", { class: "muted", role: "status" }, "Loading comparison…");
  replace(root, h("h1", null, "Compare runs"), status);
  let stopped = false;
  const load = async () => {
    try {
      const [comparison, details, children] = await Promise.all([
        api.compare(ids),
        Promise.all(ids.map((id) => api.detail(id))),
        Promise.all(ids.map((id) => api.children(id))),
      ]);
      if (stopped) return;
      const runs = comparison.runs;
      status.remove();
      root.append(
        section("Params", diffTable(runs, comparison.params, false), "These runs have no params."),
        section("Metrics", diffTable(runs, comparison.metrics, true), "These runs logged no final metrics."),
        section("Outputs", outputsTable(runs, comparison.outputs), "These runs logged no outputs."),
        section("Samples", samplesTable(runs, children), "None of these runs has subruns to pair."),
        h("h2", null, "Metric series"),
        metricsView(details.map((detail) => ({ run: detail.run, history: detail.metric_history })), { seriesOnly: true }),
      );
    } catch (error) {
      if (!stopped) status.textContent = `Could not compare: ${(error as Error).message}`;
    }
  };
  void load();
  return { stop: () => { stopped = true; } };
}

function section(title: string, body: HTMLElement | null, empty: string): HTMLElement {
  return h("section", null, h("h2", null, title), body ?? h("p", { class: "muted" }, empty));
}

function header(runs: Run[], first: string): HTMLElement {
  return h("thead", null, h("tr", null, h("th", { scope: "col" }, first), runs.map((run) =>
    h("th", { scope: "col" }, h("a", { href: runHref(run.id) }, printable(run.name || run.id)), " ", statusBadge(run.status)))));
}

function diffTable(runs: Run[], diffs: ValueDiff[], numeric: boolean): HTMLElement | null {
  if (!diffs.length) return null;
  return h("table", { class: "compare diff" }, header(runs, "key"),
    h("tbody", null, diffs.map((diff) => h("tr", { class: diff.differs ? "differs" : null },
      h("th", { scope: "row" }, diff.key),
      diff.values.map((value, i) => h("td", { class: numeric ? "num" : null },
        numeric ? formatNumber(value ?? null) : formatValue(value ?? null),
        numeric && i > 0 ? delta(diff.values[0], value) : null)),
    ))));
}

/** The change from the first run, for numbers only. */
function delta(base: unknown, value: unknown): HTMLElement | null {
  if (typeof base !== "number" || typeof value !== "number") return null;
  const change = value - base;
  if (change === 0) return h("span", { class: "delta muted" }, " (=)");
  return h("span", { class: `delta ${change > 0 ? "up" : "down"}` }, ` (${change > 0 ? "+" : ""}${formatNumber(change)})`);
}

function outputsTable(runs: Run[], diffs: ValueDiff[]): HTMLElement | null {
  if (!diffs.length) return null;
  return h("table", { class: "compare outputs" }, header(runs, "output"),
    h("tbody", null, diffs.map((diff) => h("tr", { class: diff.differs ? "differs" : null },
      h("th", { scope: "row" }, diff.key),
      diff.values.map((value) => h("td", null, foldedText(formatValue(value ?? null))))))));
}

/** One row per subrun name, one column group per run: evaluation samples side by side. */
function samplesTable(runs: Run[], children: Run[][]): HTMLElement | null {
  if (!children.some((list) => list.length)) return null;
  const byName = children.map((list) => new Map(list.map((child) => [child.name, child])));
  const names = [...new Set(children.flatMap((list) => list.map((child) => child.name)))].sort();
  const metricNames = [...new Set(children.flat().flatMap((child) => Object.keys(child.metrics)))].sort();
  return h("table", { class: "compare samples" }, header(runs, "sample"),
    h("tbody", null, names.map((name) => h("tr", { "data-sample": name },
      h("th", { scope: "row" }, name),
      byName.map((map) => {
        const child = map.get(name);
        if (!child) return h("td", { class: "muted" }, "absent");
        return h("td", null,
          h("a", { href: runHref(child.id) }, statusBadge(child.status)),
          metricNames.filter((m) => m in child.metrics).map((m) => h("div", { class: "kv" }, `${m} ${formatNumber(child.metrics[m])}`)),
          Object.entries(child.outputs).map(([key, value]) => h("div", { class: "output" }, `${key}: `, foldedText(formatValue(value)))));
      }),
    ))));
}
