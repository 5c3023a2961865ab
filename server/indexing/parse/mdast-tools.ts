import type { Heading, Nodes, Paragraph, PhrasingContent, Root, RootContent } from 'mdast';
import { toString } from 'mdast-util-to-string';
import remarkGfm from 'remark-gfm';
import remarkStringify from 'remark-stringify';
import { unified } from 'unified';

declare module 'mdast' {
  interface HeadingData {
    /** Explicit anchor: the HTML `id`, or a `{/*id*\/}` comment in react.dev Markdown. */
    anchorId?: string;
    /** Came from raw HTML inside Markdown (`<h1 align="center">Fastify</h1>` banners). */
    fromHtml?: boolean;
  }
}

/**
 * A loose view of any unist node. Parsers produce node types (MDX, front matter) that the
 * strict mdast unions only know through module augmentation; the cleaners match on `type`.
 */
export interface LooseNode {
  type: string;
  value?: string;
  children?: LooseNode[];
  [key: string]: unknown;
}

/** The parsed page handed to the chunker. */
export interface ParsedPage {
  tree: Root;
  /** Title that wins over the first h1 (front matter `title`). */
  title?: string;
  /** Title used when there is no h1 (HTML `<title>`), before the file name. */
  fallbackTitle?: string;
}

// `*` for emphasis: `_` cannot open intraword emphasis, so `*x*y` would be printed with
// character references (`_&#x78;_&#x79;`) that break verbatim phrase matching.
// Table alignment padding is off because it multiplies tokens on wide tables.
const stringifier = unified()
  .use(remarkStringify, {
    bullet: '-',
    emphasis: '*',
    strong: '*',
    fences: true,
    rule: '-',
    listItemIndent: 'one',
  })
  .use(remarkGfm, { tablePipeAlign: false })
  .freeze();

const CHAR_REF = /&#x([0-9A-F]{1,6});/g;

// Nodes the cleaners replaced, unwrapped, trimmed or emptied: their source text is not theirs.
const edited = new WeakSet<object>();
// Source Markdown of top-level blocks nothing rewrote: slicing it costs nothing, while the
// serializer is ~15% of indexing time on the react docs and loses the author's formatting.
const sourceOf = new WeakMap<object, string>();

/** Records that a cleaner changed `node` (or its children), so its source text no longer fits. */
export function markEdited(node: object): void {
  edited.add(node);
}

// Character references, which the parser decodes and the serializer writes as characters.
const ENTITY = /&(?:#\d+|#x[\da-f]+|[a-z][a-z\d]*);/i;
const FENCE_OPEN = /^(`{3,}|~{3,})/;
const FENCE_CLOSE = /\n[ \t]*(`{3,}|~{3,})[ \t]*$/;

/**
 * Remembers the source text of each top-level block of `tree` that no cleaner touched, for
 * {@link stringifyBlock}. `source` is the exact string the tree was parsed from (positions are
 * offsets into it). Blocks whose source the serializer would rewrite in words, not just in
 * formatting (character references, indented or unclosed code) keep being serialized.
 */
export function rememberSources(tree: Root, source: string): void {
  for (const node of tree.children) {
    const start = node.position?.start.offset;
    const end = node.position?.end.offset;
    // An indented block's slice would lose its first line's indentation but keep the others'.
    if (start === undefined || end === undefined || node.position?.start.column !== 1) continue;
    if (!untouched(node as LooseNode)) continue;
    const text = source.slice(start, end).trimEnd();
    if (!text || text.includes('\r') || ENTITY.test(text)) continue;
    if (node.type === 'code') {
      const open = FENCE_OPEN.exec(text)?.[1];
      const close = FENCE_CLOSE.exec(text)?.[1];
      if (!open || !close || close[0] !== open[0] || close.length < open.length) continue;
    }
    sourceOf.set(node, text);
  }
}

function untouched(node: LooseNode): boolean {
  // The parser marks `_x_` emphasis as edited (markdown-it-mdast.ts), cleaners what they change.
  if (edited.has(node)) return false;
  // Hand-aligned tables carry padding the serializer leaves out (tablePipeAlign: false), up to
  // 2x the tokens on wide tables.
  if (node.type === 'table') return false;
  return !node.children || node.children.every(untouched);
}

/** Markdown for one block node (or a root), with the serializer's character references undone. */
export function stringifyBlock(node: RootContent | Root): string {
  const kept = sourceOf.get(node);
  if (kept !== undefined) return kept;
  const root: Root = node.type === 'root' ? node : { type: 'root', children: [node] };
  const md = stringifier.stringify(root).trim();
  if (node.type === 'code') return md;
  // The serializer encodes characters next to emphasis markers and at paragraph edges as
  // `&#xNN;`; turning them back keeps words intact for search (the Markdown may render
  // slightly differently, which matters less here than the words).
  return md.replace(CHAR_REF, (ref, hex: string) => {
    const cp = Number.parseInt(hex, 16);
    return cp >= 0x20 && cp <= 0x10ffff ? String.fromCodePoint(cp) : ref;
  });
}

/** Plain text of a heading or any node, whitespace collapsed. */
export function plainText(node: Nodes): string {
  return toString(node, { includeImageAlt: false }).replace(/\s+/g, ' ').trim();
}

const FLOW_CONTAINERS = new Set(['root', 'blockquote', 'listItem', 'footnoteDefinition']);
const PHRASING_TYPES = new Set([
  'text',
  'emphasis',
  'strong',
  'delete',
  'inlineCode',
  'link',
  'linkReference',
  'image',
  'imageReference',
  'break',
  'footnoteReference',
]);

/**
 * Repairs a tree after nodes were unwrapped or replaced: phrasing runs directly inside flow
 * containers are wrapped in paragraphs, leading/trailing whitespace of paragraphs and headings
 * is trimmed (the serializer would encode it), and empty paragraphs, headings-less text and
 * empty inline code are removed.
 */
export function tidy(node: LooseNode): void {
  if (!node.children) return;
  for (const child of node.children) tidy(child);
  let children = node.children.flatMap(unlink).filter((c) => !isEmpty(c));
  if (FLOW_CONTAINERS.has(node.type)) children = wrapPhrasing(children);
  if (node.type === 'paragraph' || node.type === 'heading' || node.type === 'tableCell') {
    trimEdges(children);
    children = children.filter((c) => !isEmpty(c));
  }
  const before = node.children;
  if (children.length !== before.length || children.some((c, i) => c !== before[i])) {
    markEdited(node);
  }
  node.children = children;
}

/**
 * Links keep their text but lose the URL, and images are dropped: doc-relative URLs and missing
 * image files only add tokens, and `[text](url)` splits phrases that search matches verbatim.
 */
function unlink(node: LooseNode): LooseNode[] {
  if (node.type === 'link' || node.type === 'linkReference') return node.children ?? [];
  if (node.type === 'image' || node.type === 'imageReference') return [];
  return [node];
}

function isEmpty(node: LooseNode): boolean {
  if (node.type === 'text') return !node.value;
  if (node.type === 'inlineCode') return !node.value?.trim();
  if (node.type === 'paragraph') return !node.children?.length;
  return false;
}

function wrapPhrasing(children: LooseNode[]): LooseNode[] {
  const out: LooseNode[] = [];
  let run: LooseNode[] = [];
  const flush = () => {
    trimEdges(run);
    if (run.some((n) => n.type !== 'text' || n.value?.trim())) {
      out.push({ type: 'paragraph', children: run });
    }
    run = [];
  };
  for (const child of children) {
    if (PHRASING_TYPES.has(child.type)) {
      run.push(child);
    } else {
      flush();
      out.push(child);
    }
  }
  flush();
  return out;
}

function trimEdges(children: LooseNode[]): void {
  const first = children[0];
  if (first?.type === 'text') setValue(first, (first.value ?? '').replace(/^\s+/, ''));
  const last = children[children.length - 1];
  if (last?.type === 'text') setValue(last, (last.value ?? '').replace(/\s+$/, ''));
}

function setValue(node: LooseNode, value: string): void {
  if (node.value === value) return;
  node.value = value;
  markEdited(node);
}

/** A paragraph holding one text node. */
export function textParagraph(value: string): Paragraph {
  return { type: 'paragraph', children: [{ type: 'text', value }] };
}

/** A heading with an optional explicit anchor. */
export function heading(depth: number, children: PhrasingContent[], anchorId?: string): Heading {
  const clamped = Math.min(6, Math.max(1, depth)) as Heading['depth'];
  const node: Heading = { type: 'heading', depth: clamped, children };
  if (anchorId) node.data = { anchorId };
  return node;
}
