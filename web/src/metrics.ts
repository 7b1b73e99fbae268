// The metrics tab: one uPlot chart per metric over steps, several runs overlaid.

import uPlot from "uplot";
import type { MetricPoint, Run } from "./api";
import { h } from "./dom";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];
const CHART_HEIGHT = 220;

export interface RunHistory {
  run: Run;
  history: MetricPoint[];
}

/** Charts per metric; with `seriesOnly`, metrics logged once per run (final values) are left out. */
export function metricsView(histories: RunHistory[], { seriesOnly = false } = {}): HTMLElement {
  const counts = new Map<string, number>();
  for (const { history } of histories) {
    const perRun = new Map<string, number>();
    for (const point of history) perRun.set(point.name, (perRun.get(point.name) ?? 0) + 1);
    for (const [name, n] of perRun) counts.set(name, Math.max(counts.get(name) ?? 0, n));
  }
  const names = [...counts].filter(([, n]) => !seriesOnly || n > 1).map(([name]) => name).sort();
  if (!names.length) {
    return h("p", { class: "muted empty" }, seriesOnly
      ? "No metric was logged at several steps in these runs; their final values are above."
      : "No metric was logged with log_metric in this run.");
  }
  const container = h("div", { class: "charts" });
  for (const name of names) {
    const chart = h("figure", { class: "chart", "data-metric": name }, h("figcaption", null, name));
    container.appendChild(chart);
    // Drawn once attached, so the chart can take the width the layout gives it.
    requestAnimationFrame(() => drawChart(chart, name, histories));
  }
  return container;
}

function drawChart(figure: HTMLElement, name: string, histories: RunHistory[]): void {
  const series = histories.map(({ history }) =>
    history
      .filter((p) => p.name === name)
      .sort((a, b) => a.time_unix_nano - b.time_unix_nano)
      .map((p, i) => [p.step ?? i, typeof p.value === "number" ? p.value : Number(p.value)] as const),
  );
  const steps = [...new Set(series.flatMap((points) => points.map(([step]) => step)))].sort((a, b) => a - b);
  const columns: (number | null)[][] = series.map((points) => {
    const byStep = new Map(points.map(([step, value]) => [step, value]));
    return steps.map((step) => (byStep.has(step) ? (byStep.get(step) as number) : null));
  });
  const options: uPlot.Options = {
    width: Math.max(figure.clientWidth - 8, 280),
    height: CHART_HEIGHT,
    scales: { x: { time: false } },
    axes: [{ label: "step" }, {}],
    series: [
      { label: "step" },
      ...histories.map(({ run }, i) => ({
        label: run.name || run.id, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true,
        points: { show: steps.length < 60 },
      })),
    ],
  };
  new uPlot(options, [steps, ...columns] as uPlot.AlignedData, figure);
}
