/// <reference lib="dom" />
/**
 * Small DOM builders. Everything is created through the DOM API (never HTML strings), so text is
 * never parsed as markup and no inline style or handler attribute can appear (the CSP has no
 * `unsafe-inline`).
 */

type Child = Node | string | null | undefined | false;

/** Element options: class names, text content and plain attributes. */
export interface ElOptions {
  class?: string;
  text?: string;
  attrs?: Record<string, string>;
}

/** Creates `tag` with the given options and children (strings become text nodes). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: ElOptions = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.class) node.className = options.class;
  if (options.text !== undefined) node.textContent = options.text;
  for (const [name, value] of Object.entries(options.attrs ?? {})) node.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child);
  }
  return node;
}

/** Button options: an accessible name when the visible text is not enough, and classes. */
export interface ButtonOptions {
  ariaLabel?: string;
  class?: string;
  title?: string;
}

/** A `type="button"` button calling `onClick`. */
export function button(
  label: string,
  onClick: (event: MouseEvent) => void,
  options: ButtonOptions = {},
): HTMLButtonElement {
  const attrs: Record<string, string> = { type: 'button' };
  if (options.ariaLabel) attrs['aria-label'] = options.ariaLabel;
  if (options.title) attrs.title = options.title;
  const node = el('button', { class: options.class, text: label, attrs });
  node.addEventListener('click', onClick);
  return node;
}

/** Formats an ISO time as a short local date and time; `—` for null. */
export function formatTime(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The root element the host page provides (`<div id="root">`), created when missing. */
export function rootElement(): HTMLElement {
  let root = document.getElementById('root');
  if (!root) {
    root = el('div', { attrs: { id: 'root' } });
    document.body.append(root);
  }
  return root;
}
