/**
 * Building the page from data: elements are created and text is set with textContent only, never
 * innerHTML, so a torrent name or peer_id such as `<img src=x onerror=...>` shows as characters.
 */

export type Child = Node | string | number | null | undefined | false;

export interface ElementProps {
  class?: string;
  /** Attributes; `on*` handlers are refused, links must be http(s), relative or a magnet. */
  attrs?: Record<string, string>;
  text?: string | number;
}

const SAFE_URL = /^(https?:|magnet:|\/|\?|#|\.)/i;
const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href']);

/** Set attribute `name`, refusing event handlers and script URLs (attribute values are never HTML). */
export function setAttr(node: Element, name: string, value: string): void {
  const lower = name.toLowerCase();
  if (lower.startsWith('on')) throw new Error(`refusing event handler attribute ${name}`);
  if (URL_ATTRS.has(lower) && !SAFE_URL.test(value.trim())) throw new Error(`refusing URL ${JSON.stringify(value)} in ${name}`);
  node.setAttribute(name, value);
}

/** `<tag class=...>` with text children as Text nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: ElementProps = {}, children: readonly Child[] = []): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class !== undefined) node.className = props.class;
  for (const [name, value] of Object.entries(props.attrs ?? {})) setAttr(node, name, value);
  if (props.text !== undefined) node.textContent = String(props.text);
  append(node, children);
  return node;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Set a node's text, touching the DOM only when it changed (live updates every second). */
export function setText(node: Node, text: string | number): void {
  const s = String(text);
  if (node.textContent !== s) node.textContent = s;
}

/** Replace every child of `parent`. */
export function replaceChildren(parent: Element, children: readonly Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, children);
}

/** The element with this id, of this type, or an error naming it (the page shell is ours). */
export function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`missing #${id}`);
  return node;
}

/**
 * Every `[data-slot=name]` under `root`, for values the server rendered first (the page works
 * with JavaScript off) and the live updates then replace.
 */
export function slots(root: ParentNode = document): Map<string, HTMLElement[]> {
  const found = new Map<string, HTMLElement[]>();
  root.querySelectorAll<HTMLElement>('[data-slot]').forEach((node) => {
    const name = node.dataset['slot'] ?? '';
    found.set(name, [...(found.get(name) ?? []), node]);
  });
  return found;
}

/** Set the text of every slot named in `values` (others are left as they are). */
export function fillSlots(found: Map<string, HTMLElement[]>, values: Record<string, string | number>): void {
  for (const [name, value] of Object.entries(values)) for (const node of found.get(name) ?? []) setText(node, value);
}
