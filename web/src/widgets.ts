// Small pieces shared by pages: status badges, key/value tables, folded long text.

import type { Value } from "./api";
import { h } from "./dom";
import { formatValue } from "./format";

const FOLD_CHARS = 800;
const FOLD_LINES = 14;

export function statusBadge(status: string): HTMLElement {
  return h("span", { class: `status status-${status.replace(/[^a-z]/g, "")}`, "data-status": status }, status);
}

export function kvTable(entries: [string, Value | undefined][], empty = "none"): HTMLElement {
  if (!entries.length) return h("p", { class: "muted" }, empty);
  return h("table", { class: "kv-table" },
    h("tbody", null, entries.map(([key, value]) =>
      h("tr", null, h("th", { scope: "row" }, key), h("td", null, foldedText(formatValue(value ?? null)))),
    )),
  );
}

/** Text shown in full up to a fold; beyond it, a button says how much is hidden and shows it. */
export function foldedText(text: string, className = "text"): HTMLElement {
  const lines = text.split("\n");
  const long = text.length > FOLD_CHARS || lines.length > FOLD_LINES;
  const body = h("div", { class: className });
  if (!long) {
    body.textContent = text;
    return body;
  }
  let cut = lines.slice(0, FOLD_LINES).join("\n");
  if (cut.length > FOLD_CHARS) cut = cut.slice(0, FOLD_CHARS);
  const hidden = text.length - cut.length;
  const shown = h("span", null, cut);
  const button = h("button", { type: "button", class: "link" }, `… show all (${hidden.toLocaleString("en-US")} more characters)`);
  button.addEventListener("click", () => {
    shown.textContent = text;
    button.remove();
  });
  body.append(shown, h("br"), button);
  return body;
}

/** Parse a JSON attribute (content capture stores messages as JSON text); null if it is not. */
export function parseJson(value: Value | undefined): unknown {
  if (typeof value !== "string") return null;
  try {
    return JSON.parse(value);
  } catch {
    return null;
  }
}
