/**
 * Building the page's DOM. Text always goes in as text nodes, never as HTML:
 * model ids and client names come from requests and must not become markup.
 */

export type Child = Node | string | number | null | undefined | false;

function append(el: Element, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

/** The element with this id, checked to be of the expected kind (the page's HTML and this script must agree). */
export function byId<T extends Element>(id: string, kind: abstract new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof kind)) throw new Error(`dashboard: #${id} is missing or not a ${kind.name}`);
  return el;
}

/** Replace an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A definition list's rows. */
export function facts(el: HTMLElement, rows: ReadonlyArray<readonly [string, Child]>): void {
  fill(el, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}
