// How numbers, times and values are shown.

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  if (seconds < 0.01) return `${(seconds * 1000).toFixed(1)} ms`;
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} m ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} m`;
}

/** Nanosecond timestamps arrive as JSON numbers beyond 2**53: differences stay close enough. */
export function nanosToSeconds(startNs: number, endNs: number): number {
  return (endNs - startNs) / 1e9;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "–";
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())} ` +
    `${pad(moment.getHours())}:${pad(moment.getMinutes())}:${pad(moment.getSeconds())}`
  );
}

export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  return value.toLocaleString("en-US");
}

/** A count with its noun, singular for exactly one: "1 LLM call", "2,048 tokens". */
export function formatCountOf(value: number, noun: string): string {
  return `${formatCount(value)} ${noun}${value === 1 ? "" : "s"}`;
}

export function formatNumber(value: unknown): string {
  if (typeof value === "number") {
    if (Number.isInteger(value)) return value.toLocaleString("en-US");
    return Math.abs(value) >= 1000 || (Math.abs(value) < 0.001 && value !== 0)
      ? value.toPrecision(4)
      : String(Number(value.toFixed(4)));
  }
  return formatValue(value);
}

/** Any attribute value as one line of text. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return "–";
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(formatValue).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// What `spanflow runs` escapes in a terminal (spanflow/_internal/terminal_text.py), escaped the
// same way here: C0/C1 controls and DEL, bidirectional marks, overrides and isolates (they
// reorder what follows), line separators, and invisible format characters that hide text
// (zero-width space, byte order mark, tag characters; the emoji joiner is kept).
const INVISIBLE = new RegExp(
  "[\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b\\u200c\\u200e\\u200f\\u2028-\\u202e" +
    "\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb\\u{1d173}-\\u{1d17a}\\u{e0001}\\u{e0020}-\\u{e007f}]",
  "gu",
);
const NAMED: Record<string, string> = { "\t": "\\t", "\n": "\\n", "\r": "\\r" };

function escapeInvisible(char: string): string {
  if (NAMED[char]) return NAMED[char];
  const code = char.codePointAt(0) ?? 0;
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, "0")}`;
  return code < 0x10000 ? `\\u${code.toString(16).padStart(4, "0")}` : `\\U${code.toString(16).padStart(8, "0")}`;
}

/** Text with its invisible characters shown as escapes (`\x1b`, `\u202e`), so a label cannot
 * hide, reorder or smuggle what it says. */
export function printable(text: string): string {
  return text.replace(INVISIBLE, escapeInvisible);
}

/** A one-line preview, saying when it is cut. */
export function preview(text: string, maxChars: number): string {
  const line = printable(text.replace(/\s+/g, " ").trim());
  return line.length > maxChars ? `${line.slice(0, maxChars - 1)}…` : line;
}
