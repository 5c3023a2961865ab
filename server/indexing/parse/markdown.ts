import { parse as parseYaml } from 'yaml';
import { htmlFragmentToMdast } from './html.js';
import { markdownItToMdast } from './markdown-it-mdast.js';
import {
  markEdited,
  rememberSources,
  tidy,
  type LooseNode,
  type ParsedPage,
} from './mdast-tools.js';

// Containers whose children are blocks; html anywhere else is inline (a single tag).
const FLOW_PARENTS = new Set(['root', 'blockquote', 'listItem', 'footnoteDefinition']);
// `{/*id*/}` (react.dev) and `{#id}` (VitePress) at the end of a heading name its anchor.
const HEADING_ID_SUFFIX = /\s*\{#([\w-]+)\}\s*$/;
// YAML (`---`) or TOML (`+++`) front matter at the very start of a page.
const FRONT_MATTER = /^(---|\+\+\+)[ \t]*\n([\s\S]*?)\n\1[ \t]*(?=\n|$)/;

/**
 * Parses Markdown or MDX into a clean mdast: front matter read for the title and dropped, MDX
 * import/export statements and `{/* comments *\/}` dropped, JSX and raw HTML reduced to their
 * content. MDX is read as CommonMark with its JSX as HTML, after the source-level fixes below
 * (a tag line touching a code fence, ESM blocks): on documentation that loses nothing an
 * MDX parser keeps, and never rejects a page. Never throws on any input.
 */
export function parseMarkdown(text: string, opts: { mdx: boolean }): ParsedPage {
  const normalized = text.replace(/\r\n?/g, '\n');
  const fm = FRONT_MATTER.exec(normalized);
  const title = fm?.[1] === '---' ? frontMatterTitle(fm[2] ?? '') : undefined;
  // Front matter is blanked out, not cut, so nothing else shifts.
  const body = fm
    ? normalized.slice(0, fm[0].length).replace(/[^\n]/g, ' ') + normalized.slice(fm[0].length)
    : normalized;
  const source = cleanProseLines(opts.mdx ? body : dedentAdmonitions(body), opts.mdx);
  const tree = markdownItToMdast(source, opts);
  const root = tree as unknown as LooseNode;
  cleanChildren(root, 0);
  tidy(root);
  rememberSources(tree, source);
  return { tree, ...(title ? { title } : {}) };
}

function frontMatterTitle(yaml: string): string | undefined {
  try {
    const data: unknown = parseYaml(yaml);
    if (data && typeof data === 'object' && 'title' in data) {
      const title = (data as { title: unknown }).title;
      if (typeof title === 'string' || typeof title === 'number') return String(title).trim();
    }
  } catch {
    // Broken front matter only costs the title.
  }
  return undefined;
}

function cleanChildren(parent: LooseNode, depth: number): void {
  if (!parent.children) return;
  const out: LooseNode[] = [];
  let changed = false;
  for (const child of parent.children) {
    const kept = cleanNode(child, parent, depth);
    if (kept.length !== 1 || kept[0] !== child) {
      changed = true;
      // Replacements may come from another parse (reduceHtmlBlock): their positions are not
      // offsets into this source.
      for (const n of kept) markEdited(n);
    }
    out.push(...kept);
  }
  if (changed) markEdited(parent);
  parent.children = out;
  if (parent.type === 'heading') takeHeadingSuffix(parent);
}

function cleanNode(node: LooseNode, parent: LooseNode, depth: number): LooseNode[] {
  if (node.type === 'html') {
    return FLOW_PARENTS.has(parent.type)
      ? reduceHtmlBlock(node.value ?? '', depth)
      : inlineHtml(node);
  }
  cleanChildren(node, depth);
  return [node];
}

function inlineHtml(node: LooseNode): LooseNode[] {
  // Inline html is one tag at a time; the text between tags is already a text node.
  return /^<br\s*\/?>$/i.test((node.value ?? '').trim()) ? [{ type: 'text', value: ' ' }] : [];
}

const TAG = /<\/?[A-Za-z][^<>]*>|<!--[\s\S]*?(?:-->|$)/g;

/**
 * A raw HTML (or JSX-in-Markdown) block. When it wraps Markdown code fences (no blank line
 * between `<Tab>` and the fence), the tags are removed and the rest is parsed as Markdown so
 * the fences survive; otherwise it is read as HTML.
 */
function reduceHtmlBlock(value: string, depth: number): LooseNode[] {
  const label = componentLabel(value);
  const rest = reduceHtml(value, depth);
  return label ? [label, ...rest] : rest;
}

function reduceHtml(value: string, depth: number): LooseNode[] {
  if (!value.replace(TAG, '').trim()) return [];
  if (depth < 2 && /^\s*(```|~~~)/m.test(value)) {
    const inner = markdownItToMdast(
      cleanProseLines(value.replace(TAG, '\n'), false),
    ) as unknown as LooseNode;
    cleanChildren(inner, depth + 1);
    return inner.children ?? [];
  }
  try {
    const nodes = htmlFragmentToMdast(value);
    for (const n of nodes) if (n.type === 'heading') n.data = { ...(n.data ?? {}), fromHtml: true };
    return nodes;
  } catch {
    return [{ type: 'paragraph', children: [{ type: 'text', value: value.replace(TAG, ' ') }] }];
  }
}

// An MDX component's opening tag with a visible `title="..."` (Accordion, Callout) or, on a
// tab, `value="..."`.
const COMPONENT_TITLE = /^\s*<([A-Z][\w.]*)\b[^<>]*?\s(title|value)=(?:"([^"]*)"|'([^']*)')[^<>]*>/;

/** A bold label paragraph for a component's title, as the page renders it. */
function componentLabel(value: string): LooseNode | undefined {
  const m = COMPONENT_TITLE.exec(value);
  if (!m) return undefined;
  if (m[2] === 'value' && !/Tab/.test(m[1] ?? '')) return undefined;
  const title = (m[3] ?? m[4] ?? '').trim();
  if (!title) return undefined;
  return {
    type: 'paragraph',
    children: [{ type: 'strong', children: [{ type: 'text', value: title }] }],
  };
}

function takeHeadingSuffix(heading: LooseNode): void {
  const last = heading.children?.[heading.children.length - 1];
  if (last?.type !== 'text' || !last.value) return;
  const m = HEADING_ID_SUFFIX.exec(last.value);
  if (!m?.[1]) return;
  last.value = last.value.slice(0, m.index);
  markEdited(last);
  setAnchor(heading, m[1]);
}

function setAnchor(heading: LooseNode, id: string): void {
  const data = (heading.data ?? {}) as Record<string, unknown>;
  heading.data = { ...data, anchorId: id };
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
// One-line `import`/`export` statements: MDX syntax in a page read as Markdown.
const ESM_LINE =
  /^(?:import\s+(?:[\w*{][^\n]*\s+from\s+)?['"][^'"\n]+['"];?|export\s+(?:const|let|default|function)\b[^\n]*)[ \t]*$/m;
const ESM_LINES = new RegExp(ESM_LINE.source, 'gm');
// Python-Markdown admonitions (`!!! note "Title"`, `???+ example`) and pymdownx tabs
// (`=== "Tab"`) whose body is indented by four spaces.
const ADMONITION = /^(?:(!!!|\?\?\?\+?)\s+([\w-]+)(?:\s+"([^"]*)")?|===\+?\s+"([^"]*)")\s*$/;

/**
 * CommonMark reads an admonition's indented body as a paragraph continuation or an indented
 * code block, which garbles its fences. The header becomes a bold label and the body is
 * dedented so it parses as ordinary Markdown.
 */
function dedentAdmonitions(text: string): string {
  if (!/^\s*(!!!|\?\?\?|===)/m.test(text)) return text;
  const stack: number[] = [];
  let fence: string | undefined;
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) {
      out.push('');
      continue;
    }
    const indent = /^ */.exec(line)?.[0].length ?? 0;
    while (stack.length && indent < (stack[stack.length - 1] ?? 0) + 4) stack.pop();
    const content = line.slice(Math.min(indent, 4 * stack.length));
    const f = FENCE.exec(content);
    if (fence) {
      if (f?.[1]?.startsWith(fence)) fence = undefined;
      out.push(content);
      continue;
    }
    if (f?.[1]) fence = f[1];
    const m = fence ? null : ADMONITION.exec(content.trim());
    if (!m) {
      out.push(content);
      continue;
    }
    const pad = /^ */.exec(content)?.[0] ?? '';
    const label = m[4] ?? (m[3] !== undefined ? m[3] : capitalise(m[2] ?? ''));
    out.push(label ? `${pad}**${label}**` : '', '');
    stack.push(indent);
  }
  return out.join('\n');
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/**
 * Source-level fixes applied outside code fences, for things CommonMark would misread:
 * react.dev's `{/*id*\/}` heading anchors and `{/* comments *\/}` (parsed as text with
 * emphasis; anchors become `{#id}`, read back later, comments go), mkdocstrings
 * cross-references `[text][pkg.module.Name]`, which have no definition and would print as
 * escaped brackets around the text, and MDX import/export statements (a block each in MDX; one
 * line each when Markdown holds them). A line of only HTML/JSX tags right before or after a
 * code fence gets a blank line between them: CommonMark would run the HTML block on into the
 * fence (up to the next blank line, which code often has), where MDX ends the tag at its line.
 */
function cleanProseLines(text: string, mdx: boolean): string {
  if (
    !text.includes('{/*') &&
    !text.includes('][') &&
    !text.includes('<') &&
    !(mdx ? ESM_START : ESM_LINE).test(text)
  ) {
    return text;
  }
  const lines = text.split('\n');
  let fence: string | undefined;
  let closedFence = false;
  let inComment = false;
  let prose: string[] = [];
  const out: string[] = [];
  const flush = () => {
    if (prose.length) out.push(cleanProse(prose.join('\n'), mdx));
    prose = [];
  };
  for (const line of lines) {
    const m = FENCE.exec(line);
    if (fence) {
      out.push(line);
      if (
        m?.[1] &&
        m[1][0] === fence[0] &&
        m[1].length >= fence.length &&
        !line.trim().slice(m[1].length).trim()
      ) {
        fence = undefined;
        closedFence = true;
      }
      continue;
    }
    if (inComment) {
      // A `{/* ... */}` comment over several lines hides everything in it, fences included.
      const end = line.indexOf('*/}');
      if (end === -1) continue;
      inComment = false;
      prose.push(line.slice(end + 3));
      continue;
    }
    const open = line.lastIndexOf('{/*');
    if (open !== -1 && line.indexOf('*/}', open) === -1) {
      prose.push(line.slice(0, open));
      inComment = true;
      continue;
    }
    if (closedFence && TAG_LINE.test(line)) prose.push('');
    closedFence = false;
    if (mdx && TAG_LINE.test(line)) {
      // MDX ends a JSX tag at its line: what follows is Markdown again. Expression values
      // (`items={["a"]}`) would make the tag invalid HTML, so they are emptied.
      prose.push('', line.trim().replace(JSX_EXPRESSION_VALUE, '=""'), '');
    } else if (m?.[1]) {
      const before = prose[prose.length - 1];
      flush();
      if (before !== undefined && TAG_LINE.test(before)) out.push('');
      fence = m[1];
      out.push(line);
    } else {
      prose.push(line);
    }
  }
  flush();
  return out.join('\n');
}

// A line holding nothing but HTML/JSX tags.
const TAG_LINE = /^\s*(?:<\/?[A-Za-z][^<>]*>\s*)+$/;
// `={...}` in a JSX tag, one level of nested braces deep.
const JSX_EXPRESSION_VALUE = /=\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}/g;
// An MDX ESM block: `import`/`export` at the start of a block, up to the next blank line.
const ESM_START = /^(?:import|export)[\s{*]/m;
const MDX_EXPRESSION = /(`+)[^`]*?\1|\{[^{}\n]*(?:\{[^{}\n]*\}[^{}\n]*)*\}/g;
const ESM_BLOCKS = /(^|\n[ \t]*\n)(?:import|export)[\s{*][\s\S]*?(?=\n[ \t]*\n|$)/g;

function cleanProse(text: string, mdx: boolean): string {
  const cleaned = text
    .replace(/^(#{1,6}[ \t].*?)[ \t]*\{\/\*\s*([\w-]+)\s*\*\/\}[ \t]*$/gm, '$1 {#$2}')
    .replace(/\{\/\*[\s\S]*?\*\/\}/g, '')
    .replace(/\[([^[\]\n]+)\]\[[A-Za-z_][\w-]*(?:\.[\w-]+)+\]/g, '$1');
  if (!mdx) return cleaned.replace(ESM_LINES, '');
  // MDX expressions (`{props.value}`) are code, not text; inline code spans are kept.
  return cleaned
    .replace(ESM_BLOCKS, '$1')
    .replace(MDX_EXPRESSION, (m: string, ticks?: string) => (ticks ? m : ''));
}
