// The run page's artifacts panel: each artifact's name, size and media type, and a download
// button for content the index holds. The bytes are fetched with the user's token and handed to
// the browser as a file download (a blob URL with a plain file name); they are never shown.

import { api, type Run } from "./api";
import { h } from "./dom";

const UNSAFE_FILENAME = /[^A-Za-z0-9._ -]+/g;
const MAX_FILENAME_CHARS = 120;

/** The artifacts panel for `run`, or null when it logged none. */
export function artifactsPanel(run: Run): HTMLElement | null {
  const entries = Object.entries(run.artifacts ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (!entries.length) return null;
  return h("section", { class: "artifacts", "aria-label": "artifacts" },
    h("h2", null, `Artifacts (${entries.length})`),
    h("table", { class: "artifact-table" },
      h("thead", null, h("tr", null,
        h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Size"),
        h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Content"))),
      h("tbody", null, entries.map(([name, facts]) =>
        h("tr", { "data-artifact": name },
          h("td", { class: "artifact-name" }, name),
          h("td", { class: "num" }, formatBytes(facts.size)),
          h("td", null, facts.media_type ?? "–"),
          h("td", null, facts.stored
            ? downloadButton(run.id, name)
            : h("span", { class: "muted", title: facts.path ?? "" }, "reference only (above the size limit)")),
        ))),
    ),
  );
}

function downloadButton(runId: string, name: string): HTMLElement {
  const button = h("button", { type: "button", class: "link", "aria-label": `download ${name}` }, "Download");
  button.addEventListener("click", () => {
    button.setAttribute("disabled", "");
    void api.artifactContent(runId, name)
      .then((blob) => saveBlob(blob, downloadFilename(name)))
      .catch((error: Error) => {
        button.replaceWith(h("span", { class: "error", role: "alert" }, `Download failed: ${error.message}`));
      })
      .finally(() => button.removeAttribute("disabled"));
  });
  return button;
}

function saveBlob(blob: Blob, filename: string): void {
  // Not through `h`: its hrefs are limited to the app's own #/ routes, and this one is a blob.
  const anchor = document.createElement("a");
  const url = URL.createObjectURL(blob);
  anchor.href = url;
  anchor.download = filename;
  anchor.hidden = true;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The same safe name the API and CLI use: the last path segment, plain characters only. */
export function downloadFilename(name: string): string {
  const last = name.split(/[/\\]/).pop() ?? "";
  const cleaned = last.replace(UNSAFE_FILENAME, "_").replace(/^[ .]+|[ .]+$/g, "");
  return cleaned.slice(0, MAX_FILENAME_CHARS) || "artifact";
}

function formatBytes(size: number | null | undefined): string {
  if (size === null || size === undefined) return "–";
  if (size < 1024) return `${size} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
