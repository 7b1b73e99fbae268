// DOM building without HTML strings: every text goes in as a Text node, so data never runs.

export type Child = Node | string | number | null | undefined | false;
type Props = Record<string, string | number | boolean | EventListener | null | undefined>;

/** An element with attributes (`on*` keys become listeners) and text/element children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  setProps(element, props);
  append(element, children);
  return element;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element, built the same way as `h`. */
export function svg(tag: string, props: Props | null = null, ...children: Child[]): SVGElement {
  const element = document.createElementNS(SVG_NS, tag) as SVGElement;
  setProps(element, props);
  append(element, children);
  return element;
}

function setProps(element: Element, props: Props | null): void {
  if (!props) return;
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "href" && typeof value === "string" && !isSafeHref(value)) {
      continue; // only the app's own #/ routes: never javascript:, data: or another site
    } else {
      element.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

function isSafeHref(href: string): boolean {
  return href.startsWith("#");
}

/** Append children (text becomes Text nodes; null/false are skipped). */
export function append(parent: Node, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/** Replace every child of `parent`. */
export function replace(parent: Node, ...children: (Child | Child[])[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, children);
}
