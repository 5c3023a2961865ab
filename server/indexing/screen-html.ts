/**
 * Hidden HTML text, dropped before text extraction: no reader of the page sees it, so only a
 * model could be its audience. Substantive hidden text leaves {@link HIDDEN_MARKER}, which the
 * chunk screening (screen.ts) turns into a page flag.
 */
import type { Element, Root as HastRoot } from 'hast';
import { toText } from 'hast-util-to-text';
import { HIDDEN_MARKER } from './screen.js';

// Below this many letters a hidden element is a UI label ("Quick search", "Copy"), not a message.
const SUBSTANTIVE_CHARS = 20;

const HIDING_STYLE =
  /(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|em|rem|pt|%)?\s*(?:!important\s*)?(?:;|$)|opacity\s*:\s*0(?:\.0+)?\s*(?:!important\s*)?(?:;|$))/i;
// Moved out of view: large negative offsets or a zero clip, the usual "off-screen" recipes.
const OFFSCREEN_STYLE =
  /(?:left|top|right|text-indent|margin-left)\s*:\s*-\d{3,}|clip\s*:\s*rect\(\s*0[^)]*\)|clip-path\s*:\s*inset\(\s*50%/i;

function styleOf(el: Element): string {
  const s = el.properties.style;
  return typeof s === 'string' ? s : '';
}

/** True when an element is hidden from every reader: display:none, visibility:hidden, `hidden`, or aria-hidden and off-screen. */
export function isHiddenElement(el: Element): boolean {
  if (el.properties.hidden !== undefined && el.properties.hidden !== false) return true;
  const style = styleOf(el);
  if (style && HIDING_STYLE.test(style)) return true;
  const ariaHidden = String(el.properties.ariaHidden ?? '').toLowerCase() === 'true';
  return ariaHidden && OFFSCREEN_STYLE.test(style);
}

/**
 * Removes hidden elements from a hast tree in place; each one with substantive text becomes the
 * marker text. Returns how many substantive hidden elements were found.
 */
export function dropHiddenElements(tree: HastRoot | Element): number {
  let found = 0;
  const walk = (node: HastRoot | Element): void => {
    const next: Array<(typeof node.children)[number]> = [];
    for (const child of node.children) {
      if (child.type === 'element' && isHiddenElement(child)) {
        const letters = toText(child).replace(/\s+/g, '').length;
        if (letters >= SUBSTANTIVE_CHARS) {
          found++;
          next.push({ type: 'text', value: ` ${HIDDEN_MARKER} ` });
        }
        continue;
      }
      if (child.type === 'element') walk(child);
      next.push(child);
    }
    node.children = next as typeof node.children;
  };
  walk(tree);
  return found;
}
